// berth: the command-line front end. What the library logs reaches people as
// "berth: warning: ..." on stderr.
#include "cli/app.h"
#include "core/log.h"

int main(int argc, char** argv) {
  berth::log::UseHumanSink("berth");
  return berth::cli::RunCli(argc, argv);
}
