# Warnings, optimisation and sanitizers shared by every target (through cj_options).
add_library(cj_options INTERFACE)
target_compile_options(cj_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${CJ_WERROR}>>:-Werror>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CONFIG:Release>>:-O3>)
# Release builds keep asserts off but stay debuggable.
set(CMAKE_CXX_FLAGS_RELEASE "-O3 -DNDEBUG")
set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O2 -g -DNDEBUG")

if(CJ_SANITIZE)
  string(REPLACE "," ";" _cj_sanitizers "${CJ_SANITIZE}")
  foreach(s IN LISTS _cj_sanitizers)
    if(NOT s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "CJ_SANITIZE: unknown sanitizer '${s}' (expected address, undefined, thread or leak)")
    endif()
  endforeach()
  target_compile_options(cj_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${CJ_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all>)
  target_link_options(cj_options INTERFACE -fsanitize=${CJ_SANITIZE})
endif()

find_program(CJ_CCACHE ccache)
if(CJ_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CJ_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${CJ_CCACHE})
endif()

# cj_add_library(NAME DIR DEPS...): one static library per folder, sources globbed from that folder
# (and its subfolders), so adding a file needs no CMake edit.
function(cj_add_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS;EXCLUDE" ${ARGN})
  file(GLOB_RECURSE _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  foreach(ex IN LISTS ARG_EXCLUDE)
    list(FILTER _srcs EXCLUDE REGEX "${ex}")
  endforeach()
  add_library(${name} STATIC ${_srcs})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC cj_options ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()
