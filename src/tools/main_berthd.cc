// berthd: the daemon (embedded DNS); see daemon/berthd.h.
#include "daemon/berthd.h"

int main(int argc, char** argv) {
  berth::daemon::Options opts;
  if (int rc = berth::daemon::ParseArgs(argc, argv, &opts); rc >= 0) return rc;
  return berth::daemon::Run(opts);
}
