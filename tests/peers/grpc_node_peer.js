// Node's @grpc/grpc-js peer for nettool's grpc tests and bench/grpc.sh.
//   node grpc_node_peer.js serve STUBDIR PORTFILE     a grpc.testing.TestService server
//   node grpc_node_peer.js loop STUBDIR TARGET C SECONDS
//                                                     C UnaryCalls in flight; prints calls/s
// STUBDIR holds the flat test.proto made by grpc_peer.py (its `stubs` mode).
// @grpc/grpc-js and @grpc/proto-loader come from build/peers/node_modules
// (scripts/install-deps.sh), found through NODE_PATH.
'use strict';
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const mode = process.argv[2];
const stubdir = path.resolve(process.argv[3]);
const definition = loader.loadSync(path.join(stubdir, 'test.proto'), {
  includeDirs: [stubdir], keepCase: false, longs: String, enums: String, defaults: false, oneofs: true,
});
const testing = grpc.loadPackageDefinition(definition).grpc.testing;

function echoMetadata(call) {
  const md = call.metadata;
  const initial = md.get('x-grpc-test-echo-initial');
  const trailing = md.get('x-grpc-test-echo-trailing-bin');
  const out = new grpc.Metadata();
  if (initial.length) out.set('x-grpc-test-echo-initial', initial[0]);
  call.sendMetadata(out);
  const trailer = new grpc.Metadata();
  if (trailing.length) trailer.set('x-grpc-test-echo-trailing-bin', trailing[0]);
  return trailer;
}

function payload(size) { return { body: Buffer.alloc(size || 0) }; }
function failure(status, trailer) {
  return { code: status.code, details: status.message, metadata: trailer };
}

function serve(portfile) {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20, 'grpc.max_send_message_length': 64 << 20 });
  server.addService(testing.TestService.service, {
    emptyCall(call, cb) { const t = echoMetadata(call); cb(null, {}, t); },
    unaryCall(call, cb) {
      const t = echoMetadata(call);
      const req = call.request;
      if (req.responseStatus && req.responseStatus.code) return cb(failure(req.responseStatus, t));
      cb(null, { payload: payload(req.responseSize), serverId: 'node' }, t);
    },
    streamingOutputCall(call) {
      const t = echoMetadata(call);
      const params = call.request.responseParameters || [];
      let i = 0;
      const next = () => {
        if (i === params.length) return call.end(t);
        const p = params[i++];
        setTimeout(() => { call.write({ payload: payload(p.size) }); next(); }, (p.intervalUs || 0) / 1000);
      };
      next();
    },
    streamingInputCall(call, cb) {
      const t = echoMetadata(call);
      let total = 0;
      call.on('data', (r) => { total += r.payload && r.payload.body ? r.payload.body.length : 0; });
      call.on('end', () => cb(null, { aggregatedPayloadSize: total }, t));
    },
    fullDuplexCall(call) {
      const t = echoMetadata(call);
      call.on('data', (r) => {
        if (r.responseStatus && r.responseStatus.code) {
          call.emit('error', failure(r.responseStatus, t));
          return;
        }
        for (const p of r.responseParameters || []) call.write({ payload: payload(p.size) });
      });
      call.on('end', () => call.end(t));
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    fs.writeFileSync(portfile + '.tmp', String(port));
    fs.renameSync(portfile + '.tmp', portfile);
  });
}

function loop(target, concurrency, seconds) {
  const client = new testing.TestService(target, grpc.credentials.createInsecure());
  let calls = 0;
  let stop = false;
  let running = concurrency;
  const start = process.hrtime.bigint();
  const one = () => {
    if (stop) { if (--running === 0) finish(); return; }
    client.unaryCall({ responseSize: 10 }, (err) => { if (!err) calls++; one(); });
  };
  const finish = () => {
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(Math.round(calls / elapsed));
    client.close();
  };
  for (let i = 0; i < concurrency; i++) one();
  setTimeout(() => { stop = true; }, seconds * 1000);
}

if (mode === 'serve') serve(process.argv[4]);
else if (mode === 'loop') loop(process.argv[4], Number(process.argv[5]), Number(process.argv[6]));
else { console.error('usage: see the header of this file'); process.exit(2); }
