// The command line as a whole: help, version, parse errors, docs coverage.
#include "harness.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using nettool::test::sh;

TEST_CASE("every verb's --help exits 0 and shows an example", "[cli]") {
  auto r = sh(R"sh(
    $NT --list-verbs | while read proto verb; do
      out=$($NT $proto $verb --help) || { echo "help failed: $proto $verb"; continue; }
      echo "$out" | grep -q "^Examples:" || echo "no example: $proto $verb"
      echo "$out" | grep -q "nettool $proto $verb" || echo "example does not use the verb: $proto $verb"
    done
    $NT --help > /dev/null || echo "top help failed"
    $NT > /dev/null 2>&1; echo "no-args=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "no-args=2\n");
}

TEST_CASE("version output names the linked libraries", "[cli]") {
  auto r = sh("$NT --version");
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("nettool ") == 0);
  CHECK(r.out.find("Boost 1.81") != std::string::npos);
  CHECK(r.out.find("OpenSSL 3") != std::string::npos);
}

TEST_CASE("usage errors: one line, exit 2, hints for habits from nc", "[cli]") {
  auto r = sh(R"sh(
    $NT tcp connect -l 80; echo "rc=$?"
    $NT nosuch verb; echo "rc=$?"
    $NT tcp; echo "rc=$?"
    $NT tcp connect host 80 -- extra; echo "rc=$?"
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out == "rc=2\nrc=2\nrc=2\nrc=2\n");
  CHECK(r.err.find("nettool: tcp connect: The following argument was not expected: -l (hint: to accept connections use "
                   "'nettool tcp listen PORT'); see --help\n") != std::string::npos);
  CHECK(r.err.find("unknown protocol 'nosuch'") != std::string::npos);
  CHECK(r.err.find("a verb is required: connect, listen") != std::string::npos);
}

TEST_CASE("every registered verb has a section in its docs page", "[cli][docs]") {
  auto r = sh("$NT --list-verbs");
  REQUIRE(r.rc == 0);
  std::istringstream verbs(r.out);
  std::string protocol, verb;
  int checked = 0;
  while (verbs >> protocol >> verb) {
    std::ifstream doc(std::string(NETTOOL_DOCS) + "/" + protocol + ".md");
    INFO("docs/" << protocol << ".md, verb " << verb);
    REQUIRE(doc.good());
    std::stringstream text;
    text << doc.rdbuf();
    CHECK(text.str().find("\n## `nettool " + protocol + " " + verb) != std::string::npos);
    ++checked;
  }
  CHECK(checked >= 6);
}

TEST_CASE("json output is JSON Lines everywhere: data events for byte streams, ready events for waits, plain numbers",
          "[cli][json]") {
  auto r = sh(R"sh(
    printf 'yo' | $NT tcp listen 0 --json --port-file port > listen.jsonl & L=$!
    wait_file port; P=$(cat port)
    $NT tcp connect 127.0.0.1 $P --json --send $'\xff' > connect.jsonl
    wait $L
    $PY -c '
import json
for f in ("listen.jsonl", "connect.jsonl"):
    print(f, [(e["event"], e.get("data"), e.get("data_base64")) for e in map(json.loads, open(f))])'
    $NT tcp listen 0 --port-file port2 -k --echo & wait_file port2
    $NT tcp wait 127.0.0.1:$(cat port2) --json | $PY -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["target"].startswith("127.0.0.1:"), d["attempts"], type(d["elapsed"]).__name__)'
    $NT http serve -p 0 --port-file port3 2>/dev/null & wait_file port3
    $NT http wait http://127.0.0.1:$(cat port3)/ --json | $PY -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["attempts"])'
    $NT tcp bench 127.0.0.1 $(cat port2) --rr -n 200 --json > bench.json
    grep -cE '[0-9][eE][-+]?[0-9]' bench.json || true
  )sh");
  REQUIRE(r.rc == 0);
  CHECK(r.out ==
        "listen.jsonl [('listening', None, None), ('data', None, '/w==')]\n"
        "connect.jsonl [('data', 'yo', None)]\n"
        "ready True 1 float\nready 1\n0\n");
}
