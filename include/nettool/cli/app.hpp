#pragma once

namespace nettool::cli {
// The whole program: pick the protocol from argv[1], build only its CLI,
// parse, run the verb, and return SPEC §1's exit code.
int main(int argc, char** argv);
}  // namespace nettool::cli
