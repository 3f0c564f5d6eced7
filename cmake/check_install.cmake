# `cmake --install` into a scratch DESTDIR holds what a distribution package needs: the three
# programs, the CNI plugin link, the systemd unit, a manual page per verb and both shell
# completions. Run by the ctest build.install as
#   cmake -DBUILD_DIR=<build> -DWORK=<scratch> -P cmake/check_install.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix /usr
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
# DESTDIR (= WORK) comes from the test's environment.
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed: ${err}")
endif()
set(missing)
foreach(f usr/bin/berth usr/bin/berth-cni usr/sbin/berthd
          usr/lib/systemd/system/berthd.service usr/share/man/man1/berth.1
          usr/share/man/man1/berth-run.1 usr/share/man/man1/berth-cluster-join.1
          usr/share/bash-completion/completions/berth usr/share/zsh/vendor-completions/_berth)
  if(NOT EXISTS ${WORK}/${f})
    list(APPEND missing ${f})
  endif()
endforeach()
# A link to the installed /usr/bin/berth-cni: EXISTS would follow it out of DESTDIR.
if(NOT IS_SYMLINK ${WORK}/usr/lib/cni/berth)
  list(APPEND missing usr/lib/cni/berth)
endif()
if(missing)
  message(FATAL_ERROR "not installed: ${missing}")
endif()
file(READ ${WORK}/usr/share/zsh/vendor-completions/_berth zsh)
if(NOT zsh MATCHES "^#compdef berth")
  message(FATAL_ERROR "the zsh completion does not start with #compdef berth")
endif()
file(REMOVE_RECURSE ${WORK})
