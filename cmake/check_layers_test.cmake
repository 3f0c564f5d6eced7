# ctest build.layer_check: cmake/check_layers.cmake passes a tree that keeps the layer rule and
# fails, naming file:line and the edge, on one that includes upward or includes tests/ from
# product code.
#   cmake -DCHECKER=cmake/check_layers.cmake -DWORK=<scratch dir> -P cmake/check_layers_test.cmake
cmake_minimum_required(VERSION 3.25)

function(write path)
  file(WRITE ${WORK}/src/${path} "${ARGN}")
endfunction()

function(check expect_ok)
  execute_process(COMMAND ${CMAKE_COMMAND} -DSRC_DIR=${WORK}/src -P ${CHECKER}
                  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  if(expect_ok AND NOT rc EQUAL 0)
    message(FATAL_ERROR "a tree that keeps the rule was refused:\n${err}")
  endif()
  if(NOT expect_ok AND rc EQUAL 0)
    message(FATAL_ERROR "a tree that breaks the rule passed")
  endif()
  foreach(needle ${ARGN})
    string(FIND "${err}" "${needle}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "the checker's message lacks \"${needle}\":\n${err}")
    endif()
  endforeach()
endfunction()

file(REMOVE_RECURSE ${WORK})
write(core/ip.h "#pragma once\n")
write(net/links.h "#pragma once\n#include \"core/ip.h\"\n")
write(engine/engine.h "#pragma once\n#include <sys/socket.h>\n#include \"net/links.h\"\n")
write(engine/engine_test.cc "#include \"engine/engine.h\"\n#include \"tests/fakes/fake.h\"\n")
write(cli/app.cc "#include \"engine/engine.h\"\n#include \"nlohmann/json.hpp\"\n")
check(TRUE)

# Upward: net may not see engine.
write(net/plan.cc "// plan\n\n#include \"core/ip.h\"\n#include \"engine/engine.h\"\n")
check(FALSE "src/net/plan.cc:4" "net -> engine" "net may include: core, sys")
file(REMOVE ${WORK}/src/net/plan.cc)

# Sideways: net and firewall do not see each other.
write(firewall/rules.cc "#include \"net/links.h\"\n")
check(FALSE "src/firewall/rules.cc:1" "firewall -> net")
file(REMOVE ${WORK}/src/firewall/rules.cc)

# tests/ only from unit tests.
write(engine/engine.cc "#include \"engine/engine.h\"\n#include \"tests/fakes/fake.h\"\n")
check(FALSE "src/engine/engine.cc:2" "engine -> tests")
file(REMOVE ${WORK}/src/engine/engine.cc)

# A new folder must be given a row in the table.
write(mesh/agent.cc "#include \"core/ip.h\"\n")
check(FALSE "src/mesh/: a layer missing from the table")

file(REMOVE_RECURSE ${WORK})
message(STATUS "layer check: accepts the good tree, refuses upward, sideways, tests/ and unknown")
