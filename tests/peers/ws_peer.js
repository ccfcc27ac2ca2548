// Node `ws` peers for the ws tests (ws 8 from Debian's node-ws, installed
// by scripts/install-deps.sh; tests/peers/lib.sh sets NODE_PATH).
//
//   node ws_peer.js serve PORTFILE echo        echo every message (binary stays binary)
//   node ws_peer.js serve PORTFILE burst N     on the first message send "1".."N" at once,
//                                              all queued before the client's next frame is read
// The server writes its port to PORTFILE and logs each close code on stderr.
'use strict';
const fs = require('fs');
const { WebSocketServer } = require('ws');

const [role, portfile, mode, arg] = process.argv.slice(2);
if (role !== 'serve') throw new Error('usage: ws_peer.js serve PORTFILE MODE [N]');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 256 * 1024 * 1024 });
wss.on('listening', () => {
  fs.writeFileSync(portfile + '.tmp', String(wss.address().port));
  fs.renameSync(portfile + '.tmp', portfile);
});
wss.on('connection', (ws) => {
  let first = true;
  ws.on('message', (data, isBinary) => {
    if (mode === 'burst' && first) {
      first = false;
      for (let i = 1; i <= Number(arg); i++) ws.send(String(i));
      return;
    }
    if (mode === 'echo') ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code, reason) => console.error(`CLOSED ${code} ${reason}`));
});
