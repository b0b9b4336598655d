# Warnings, optimisation and sanitizers shared by every target (through cj_options).
add_library(cj_options INTERFACE)
target_compile_options(cj_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${CJ_WERROR}>>:-Werror>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CONFIG:Release>>:-O3>)
# Eigen picks its SIMD kernels at compile time; without this it is limited to SSE2 and GEMM runs
# several times slower than the machine allows. It applies to every target, so that all
# translation units agree on Eigen's alignment and vector types. Turn it off for binaries that
# must run on other (older) CPUs than the one that builds them.
option(CJ_NATIVE_ARCH "Compile for this machine's CPU (-march=native)" ON)
if(CJ_NATIVE_ARCH)
  target_compile_options(cj_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
  # GCC 12 reports false "(may be) used uninitialized" warnings inside its own AVX-512 intrinsics
  # (`__m512 __Y = __Y;` is its idiom for an undefined register) wherever Eigen instantiates them
  # (GCC bug 105593, fixed in 13).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(cj_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized -Wno-uninitialized>)
  endif()
endif()
# a*b+c is rounded twice everywhere, as in the reference builds (pymunk, PyTorch's scalar paths):
# with -march=native GCC would otherwise fuse it into an FMA in some places and not others, and
# results would depend on the CPU. Vectorised kernels (Eigen) still use FMA explicitly.
target_compile_options(cj_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-ffp-contract=off>)
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
