// The behaviour every user meets first: help, version, info, and how misuse is reported.
#include <gtest/gtest.h>

#include "tests/apps/run_cli.hpp"

using cj::test::run_cjepa;

TEST(Cli, HelpListsCommandsAndExitsZero) {
  auto r = run_cjepa("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: cjepa <command>"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("info"), std::string::npos) << r.out;
}

TEST(Cli, NoArgumentsPrintsUsageAndExitsTwo) {
  auto r = run_cjepa("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("usage: cjepa"), std::string::npos) << r.out;
}

TEST(Cli, VersionPrintsSemver) {
  auto r = run_cjepa("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("cjepa 0.", 0), 0u) << r.out;
}

TEST(Cli, UnknownCommandIsOneLineErrorPlusUsageExitTwo) {
  auto r = run_cjepa("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  auto first_line = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(first_line, "cjepa: unknown command 'frobnicate'");
  EXPECT_NE(r.out.find("usage: cjepa <command>"), std::string::npos);
}

TEST(Cli, UnknownTopLevelFlagExitsTwo) {
  auto r = run_cjepa("--frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "cjepa: unknown option '--frobnicate'");
}

TEST(Cli, UnknownSubcommandFlagExitsTwoAndNamesIt) {
  auto r = run_cjepa("info --bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "cjepa info: unknown option '--bogus'");
}

TEST(Cli, SubcommandHelp) {
  auto r = run_cjepa("info --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: cjepa info"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--json"), std::string::npos) << r.out;
}

TEST(Cli, InfoReportsBuildBackendsDevicesDtypesLibraries) {
  auto r = run_cjepa("info");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* want : {"build:", "backends:", "cpu:", "cuda:", "devices:", "dtypes:", "bfloat16",
                           "libraries:", "Eigen 3.4", "libavformat", "Chipmunk2D 7."})
    EXPECT_NE(r.out.find(want), std::string::npos) << "missing '" << want << "' in:\n" << r.out;
}

TEST(Cli, InfoJsonIsOneObject) {
  auto r = run_cjepa("info --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.front(), '{');
  EXPECT_NE(r.out.find("\"dtypes\""), std::string::npos);
}
