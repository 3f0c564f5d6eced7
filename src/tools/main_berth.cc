// berth: the command-line front end.
#include "cli/app.h"

int main(int argc, char** argv) { return berth::cli::RunCli(argc, argv); }
