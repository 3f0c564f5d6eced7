// The berth command line: parses argv and runs one verb. Returns the process exit code.
#pragma once

namespace berth::cli {

int RunCli(int argc, char** argv);

}  // namespace berth::cli
