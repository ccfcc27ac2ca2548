// tcp: exit codes end to end (SPEC §1 table), TLS failures, retries.
#include "harness.hpp"

#include <catch2/catch.hpp>

#include <regex>

using nettool::test::sh;

TEST_CASE("exit codes: usage 2, resolve 3, refused 4, port in use 8", "[tcp][exit-codes]") {
  auto r = sh(R"sh(
    $NT tcp connect --no-such-option x 1; echo "bad-option=$?"
    $NT tcp connect 127.0.0.1 99999; echo "bad-port=$?"
    $NT tcp connect --connect-timeout soon 127.0.0.1 1; echo "bad-duration=$?"
    $NT tcp connect no-such-host.invalid 80 </dev/null; echo "resolve=$?"
    port=$(free_port)
    $NT tcp connect 127.0.0.1 $port </dev/null; echo "refused=$?"
    $NT tcp listen 0 --port-file port & wait_file port
    $NT tcp listen $(cat port); echo "in-use=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("bad-option=2") != std::string::npos);
  CHECK(r.out.find("bad-port=2") != std::string::npos);
  CHECK(r.out.find("bad-duration=2") != std::string::npos);
  CHECK(r.out.find("resolve=3") != std::string::npos);
  CHECK(r.out.find("refused=4") != std::string::npos);
  CHECK(r.out.find("in-use=8") != std::string::npos);
  // One line per error, naming verb and phase.
  CHECK(r.err.find("nettool: tcp connect: connect 127.0.0.1:") != std::string::npos);
  CHECK(r.err.find("nettool: tcp connect: --connect-timeout: 'soon' is not a duration") != std::string::npos);
}

TEST_CASE("json mode adds the error event on stdout", "[tcp][exit-codes][json]") {
  auto r = sh(R"sh(
    port=$(free_port)
    $NT tcp connect 127.0.0.1 $port --json </dev/null; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(std::regex_search(r.out, std::regex(R"(^\{"event":"error","phase":"connect","message":"connect 127\.0\.0\.1:\d+: Connection refused","exit":4\}\nrc=4\n$)")));
}

TEST_CASE("timeouts exit 124: --idle-timeout on a silent server, --timeout", "[tcp][exit-codes]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 --port-file port < <(sleep 30) > /dev/null &
    wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) --idle-timeout 1s < <(sleep 30); echo "idle=$?"
    rm port; $NT tcp listen 0 --port-file port < <(sleep 30) > /dev/null &
    wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) --timeout 500ms < <(sleep 30); echo "timeout=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "idle=124\ntimeout=124\n");
  CHECK(r.err.find("no data for 1.00s") != std::string::npos);
}

TEST_CASE("SIGINT exits 130, SIGTERM 143, a closed stdout 0", "[tcp][exit-codes]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 --port-file port < <(sleep 30) > /dev/null & wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) -v < <(sleep 30) 2> client.log & client=$!
    wait_log client.log "connected to"
    kill -INT $client; wait $client; echo "sigint=$?"
    rm port; $NT tcp listen 0 --port-file port -k > /dev/null 2> server.log & server=$!
    wait_file port
    kill -TERM $server; wait $server; echo "sigterm=$?"
    rm port; head -c 10M /dev/zero | $NT tcp listen 0 --port-file port & wait_file port
    $NT tcp connect 127.0.0.1 $(cat port) < /dev/null | head -c 1 > /dev/null; echo "epipe=${PIPESTATUS[0]}"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "sigint=130\nsigterm=143\nepipe=0\n");
}

TEST_CASE("TLS against openssl s_server: verified, wrong name, unknown CA, --insecure", "[tcp][tls]") {
  auto r = sh(R"sh(
    make_ca
    port=$(free_port)
    openssl s_server -quiet -accept 127.0.0.1:$port -cert server.pem -key server.key -rev > /dev/null 2>&1 &
    wait_listen $port
    echo hello | $NT tcp connect --tls --cacert ca.pem localhost $port; echo "verified=$?"
    echo hello | $NT tcp connect --tls --cacert ca.pem --servername wrong.example localhost $port; echo "wrong-name=$?"
    echo hello | $NT tcp connect --tls --cacert other-ca.pem localhost $port; echo "unknown-ca=$?"
    echo hello | $NT tcp connect --tls --insecure 127.0.0.1 $port; echo "insecure=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "olleh\nverified=0\nwrong-name=5\nunknown-ca=5\nolleh\ninsecure=0\n");
  CHECK(r.err.find("certificate verify failed: hostname mismatch") != std::string::npos);
}

TEST_CASE("tcp listen --tls is accepted by openssl s_client, ephemeral and with --cert", "[tcp][tls]") {
  // The server's stdin stays open until the client is done: s_client stops
  // sending once it sees the server's close_notify, so the server must not
  // half-close first.
  auto r = sh(R"sh(
    make_ca
    mkfifo in1 in2
    sleep 30 > in1 & holder=$!
    $NT tcp listen 0 --port-file port --tls < in1 > got1.txt 2> server1.log & server=$!
    wait_file port
    echo 'over tls' | openssl s_client -connect 127.0.0.1:$(cat port) -quiet -no_ign_eof > /dev/null 2>&1
    kill $holder; wait $server; echo "ephemeral=$?"
    rm port
    sleep 30 > in2 & holder=$!
    $NT tcp listen 0 --port-file port --tls --cert server.pem --key server.key < in2 > got2.txt & server=$!
    wait_file port
    echo 'verified tls' | openssl s_client -connect 127.0.0.1:$(cat port) -CAfile ca.pem -verify_return_error \
      -verify_hostname localhost -quiet -no_ign_eof > /dev/null 2>&1; echo "client=$?"
    kill $holder; wait $server; echo "with-cert=$?"
    cat got1.txt got2.txt
    grep -c 'SHA-256 fingerprint [0-9A-F:]\{95\}' server1.log
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "ephemeral=0\nclient=0\nwith-cert=0\nover tls\nverified tls\n1\n");
}

TEST_CASE("mutual TLS: the right client certificate is accepted, none is refused with 5", "[tcp][tls]") {
  auto r = sh(R"sh(
    make_ca
    $NT tcp listen 0 -k --echo --port-file port --tls --cert server.pem --key server.key --client-ca ca.pem &
    wait_file port
    echo 'with cert' | $NT tcp connect --tls --cacert ca.pem --cert client.pem --key client.key localhost $(cat port)
    echo "with=$?"
    echo 'without' | $NT tcp connect --tls --cacert ca.pem localhost $(cat port); echo "without=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "with cert\nwith=0\nwithout=5\n");
}

TEST_CASE("retries reach a listener that appears later, without them the run exits 4", "[tcp][retry]") {
  auto r = sh(R"sh(
    port=$(free_port)
    $NT tcp connect 127.0.0.1 $port --send x; echo "no-retries=$?"
    (sleep 1; exec $NT tcp listen $port > got.txt) &
    $NT tcp connect 127.0.0.1 $port --send hello --retries 20 --retry-delay 100ms --retry-max-delay 400ms -v 2> client.log
    echo "retries=$?"
    wait
    cat got.txt; echo
    grep -o 'retrying in [0-9.]*[mu]*s (backoff up to [0-9.]*[mu]*s)' client.log
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("no-retries=4\nretries=0\nhello\n") == 0);
  // Every delay stays under the cap, and the ceilings grow until they reach it.
  std::regex line(R"(retrying in ([0-9.]+)(ms|us|s) \(backoff up to ([0-9.]+)(ms|s)\))");
  auto ms = [](double v, const std::string& unit) { return unit == "s" ? v * 1000 : unit == "us" ? v / 1000 : v; };
  double previous_ceiling = 0;
  int attempts = 0;
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), line), end; it != end; ++it, ++attempts) {
    const double delay = ms(std::stod((*it)[1]), (*it)[2]);
    const double ceiling = ms(std::stod((*it)[3]), (*it)[4]);
    CHECK(delay <= ceiling);
    CHECK(ceiling <= 400.0);
    CHECK(ceiling >= previous_ceiling);
    previous_ceiling = ceiling;
  }
  CHECK(attempts >= 3);
  CHECK(previous_ceiling == Approx(400.0));
}

TEST_CASE("plain TCP never loads OpenSSL, TLS loads it through nettool-tls.so", "[tcp][tls][startup]") {
  auto r = sh(R"sh(
    $NT tcp listen 0 -k --echo --port-file port & wait_file port
    LD_DEBUG=libs $NT tcp connect 127.0.0.1 $(cat port) --send x 2> plain.log > /dev/null
    LD_DEBUG=libs $NT --version 2> version.log > /dev/null
    echo "plain: $(grep -c -E 'calling init: .*lib(ssl|crypto)' plain.log) version: $(grep -c -E 'calling init: .*lib(ssl|crypto)' version.log)"
    rm port; $NT tcp listen 0 -k --echo --tls --port-file port 2> /dev/null & wait_file port
    LD_DEBUG=libs $NT tcp connect 127.0.0.1 $(cat port) --tls --insecure --send x 2> tls.log > /dev/null
    echo "tls: $(grep -c -E 'calling init: .*nettool-tls.so' tls.log) $(grep -c -E 'calling init: .*libssl' tls.log)"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "plain: 0 version: 0\ntls: 1 1\n");
}
