// parse → run → exit code; everything else lives in src/cli and src/core.
#include "nettool/cli/app.hpp"

int main(int argc, char** argv) { return nettool::cli::main(argc, argv); }
