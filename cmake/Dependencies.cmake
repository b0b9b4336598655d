# Every dependency comes from Debian packages (scripts/install-deps.sh); nothing is downloaded here.
find_package(Threads REQUIRED)

find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(nlohmann_json 3.9 REQUIRED)
if(NOT CJ_KERNELS_ONLY)  # a kernels-only build (GPU machines) needs no pkg-config either
  find_package(PkgConfig REQUIRED)
  find_package(yaml-cpp REQUIRED)
  pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
  pkg_check_modules(STB REQUIRED IMPORTED_TARGET stb)

  # Chipmunk2D ships no CMake or pkg-config file in Debian.
  find_path(CHIPMUNK_INCLUDE_DIR chipmunk/chipmunk.h REQUIRED)
  find_library(CHIPMUNK_LIBRARY chipmunk REQUIRED)
  add_library(cj_chipmunk INTERFACE)
  target_include_directories(cj_chipmunk SYSTEM INTERFACE ${CHIPMUNK_INCLUDE_DIR})
  target_link_libraries(cj_chipmunk INTERFACE ${CHIPMUNK_LIBRARY} m)
endif()

if(CJ_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(CJ_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# yaml-cpp's target name changed across versions.
if(CJ_KERNELS_ONLY)
  set(CJ_YAML_TARGET "")
elseif(TARGET yaml-cpp::yaml-cpp)
  set(CJ_YAML_TARGET yaml-cpp::yaml-cpp)
else()
  set(CJ_YAML_TARGET yaml-cpp)
endif()
