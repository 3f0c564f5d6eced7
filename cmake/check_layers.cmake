# The layer rule of DESIGN.md section 2 ("nothing includes upward"), checked: every file under
# SRC_DIR/<layer>/ may include "<other>/..." only when <other> is in its layer's row of the table
# below. Run by the build (target berth_layers, before anything compiles) and by the ctest
# build.layer_check, as
#   cmake -DSRC_DIR=<tree>/src [-DSTAMP=<file touched on success>] -P cmake/check_layers.cmake
# A directory under src/ that is not in the table fails too: a new layer states what it uses.

cmake_minimum_required(VERSION 3.25)

# Which layers each layer may include (besides itself).
set(allowed_core "")
set(allowed_sys core)
set(allowed_ipam core)
# The store opens and checks its own files through sys (the RAII OS layer).
set(allowed_store core sys)
set(allowed_net core sys)
set(allowed_firewall core sys)
set(allowed_dns core sys)
set(allowed_api core sys)
# The etcd client (cluster state of multi-host networking): libcurl and JSON, nothing of ours
# above the OS layer.
set(allowed_etcd core sys)
# Other firewall managers (iptables, firewalld): beside firewall/, never inside it.
set(allowed_coexist core sys)
set(allowed_engine core sys ipam store net firewall dns api)
# The multi-host control plane (config, subnet leases, peers, the agent): a library beside the
# engine, never inside it; the front ends join the two.
set(allowed_cluster core sys ipam net etcd)
# Explaining the network (berth why, topo, trace, events): reads of the engine's model and the
# kernel.
set(allowed_diagnose core sys store net firewall dns engine)
# Processes of containers, above the engine (they record what they start through it).
set(allowed_runtime core sys net engine)
# Front ends: the engine and the runtime, and the lower layers' types they pass through.
set(allowed_cli core sys ipam store net firewall dns api coexist engine runtime etcd cluster diagnose)
set(allowed_cni ${allowed_cli})
set(allowed_daemon ${allowed_cli})
# Thin mains over the front ends.
set(allowed_tools ${allowed_cli} cli cni daemon)

if(NOT SRC_DIR)
  message(FATAL_ERROR "check_layers.cmake: pass -DSRC_DIR=<repository>/src")
endif()

file(GLOB layers LIST_DIRECTORIES true RELATIVE ${SRC_DIR} ${SRC_DIR}/*)
set(errors)
foreach(layer ${layers})
  if(NOT IS_DIRECTORY ${SRC_DIR}/${layer})
    continue()
  endif()
  if(NOT DEFINED allowed_${layer})
    list(APPEND errors "src/${layer}/: a layer missing from the table in cmake/check_layers.cmake")
    continue()
  endif()
  file(GLOB_RECURSE files RELATIVE ${SRC_DIR} ${SRC_DIR}/${layer}/*)
  foreach(file ${files})
    file(STRINGS ${SRC_DIR}/${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"[^\"/]+/")
    foreach(line ${includes})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"/]+)/.*" "\\1" target "${line}")
      if(target STREQUAL layer OR target IN_LIST allowed_${layer})
        continue()
      endif()
      if(target STREQUAL "tests" AND file MATCHES "_test\\.cc$")
        continue()  # unit tests use the fakes and helpers of tests/
      endif()
      if(NOT target STREQUAL "tests" AND NOT IS_DIRECTORY ${SRC_DIR}/${target})
        continue()  # a third-party header with a folder, not one of ours
      endif()
      # Only now the line number: read the file and count the lines before the include.
      file(READ ${SRC_DIR}/${file} text)
      string(FIND "${text}" "${line}" at)
      string(SUBSTRING "${text}" 0 ${at} before)
      string(REGEX MATCHALL "\n" newlines "${before}")
      list(LENGTH newlines n)
      math(EXPR n "${n} + 1")
      if(target STREQUAL "tests")
        set(why "only *_test.cc files may include tests/")
      else()
        string(REPLACE ";" ", " may "${allowed_${layer}}")
        set(why "${layer} may include: ${may}")
      endif()
      list(APPEND errors "src/${file}:${n}: forbidden include ${layer} -> ${target} (${why})")
    endforeach()
  endforeach()
endforeach()

if(errors)
  list(JOIN errors "\n  " text)
  message(FATAL_ERROR "Layer rule broken (DESIGN.md section 2; table in "
                      "cmake/check_layers.cmake):\n  ${text}")
endif()
if(STAMP)
  file(TOUCH ${STAMP})
endif()
