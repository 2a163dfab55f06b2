#include "common/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>

#include "gtest/gtest.h"

namespace poolscope::common {
namespace {

std::map<std::string, std::string>* fake_env = nullptr;

const char* FakeLookup(const char* name) {
  auto it = fake_env->find(name);
  return it == fake_env->end() ? nullptr : it->second.c_str();
}

// Captures what the parser writes to stderr.
class StderrCapture {
 public:
  StderrCapture() {
    fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    char path[] = "/tmp/poolscope-config-test.XXXXXX";
    fd_ = mkstemp(path);
    unlink(path);
    dup2(fd_, STDERR_FILENO);
  }
  std::string Finish() {
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    std::string out;
    char buf[512];
    lseek(fd_, 0, SEEK_SET);
    for (ssize_t n; (n = read(fd_, buf, sizeof(buf))) > 0;) out.append(buf, n);
    close(fd_);
    return out;
  }

 private:
  int saved_;
  int fd_;
};

Config Parse(std::map<std::string, std::string> env, std::string* diagnostics = nullptr,
             char* const* environment = nullptr) {
  fake_env = &env;
  StderrCapture capture;
  Config config = ParseConfig(FakeLookup, environment);
  std::string out = capture.Finish();
  if (diagnostics) *diagnostics = out;
  return config;
}

TEST(Config, DefaultsWhenNothingIsSet) {
  std::string diagnostics;
  Config config = Parse({}, &diagnostics);
  EXPECT_EQ(config.engine, kDefaultEngine);
  EXPECT_FALSE(config.stats);
  EXPECT_EQ(diagnostics, "");
}

TEST(Config, EveryEngineNameSelectsItsEngine) {
  for (const EngineName& e : kEngineNames) {
    EXPECT_EQ(Parse({{"POOLSCOPE_ENGINE", e.name}}).engine, e.kind) << e.name;
  }
}

TEST(Config, UnknownEngineFallsBackWithOneLineNamingAcceptedValues) {
  std::string diagnostics;
  Config config = Parse({{"POOLSCOPE_ENGINE", "tcmalloc"}}, &diagnostics);
  EXPECT_EQ(config.engine, kDefaultEngine);
  EXPECT_EQ(diagnostics,
            std::string("poolscope: POOLSCOPE_ENGINE='tcmalloc' is not valid (accepted: pool|libc); "
                        "using ") +
                NameOf(kDefaultEngine) + "\n");
}

TEST(Config, StatsAcceptsTheUsualBooleanSpellings) {
  for (const char* yes : {"1", "on", "yes", "true"}) {
    EXPECT_TRUE(Parse({{"POOLSCOPE_STATS", yes}}).stats) << yes;
  }
  for (const char* no : {"0", "off", "no", "false"}) {
    EXPECT_FALSE(Parse({{"POOLSCOPE_STATS", no}}).stats) << no;
  }
}

TEST(Config, MalformedBooleanKeepsDefaultAndSaysSo) {
  std::string diagnostics;
  EXPECT_FALSE(Parse({{"POOLSCOPE_STATS", "maybe"}}, &diagnostics).stats);
  EXPECT_NE(diagnostics.find("POOLSCOPE_STATS='maybe' is not valid (accepted: 0|1|off|on|no|yes|"
                             "false|true); using 0"),
            std::string::npos)
      << diagnostics;
}

TEST(Config, EmptyValueIsMalformedNotDefault) {
  std::string diagnostics;
  Parse({{"POOLSCOPE_ENGINE", ""}}, &diagnostics);
  EXPECT_NE(diagnostics.find("POOLSCOPE_ENGINE='' is not valid"), std::string::npos);
}

TEST(Config, UnknownPrefixedVariablesAreReportedOnceEach) {
  char typo[] = "POOLSCOPE_ENGIN=libc";
  char known[] = "POOLSCOPE_STATS=1";
  char unrelated[] = "HOME=/root";
  char bare[] = "POOLSCOPE_NOVALUE";
  char* environment[] = {typo, known, unrelated, bare, nullptr};
  std::string diagnostics;
  Parse({}, &diagnostics, environment);
  EXPECT_EQ(diagnostics,
            "poolscope: ignoring unknown variable POOLSCOPE_ENGIN (see docs/USAGE.md for the "
            "accepted ones)\n"
            "poolscope: ignoring unknown variable POOLSCOPE_NOVALUE (see docs/USAGE.md for the "
            "accepted ones)\n");
}

TEST(Config, KnownVariableNameIsNotAPrefixMatch) {
  char longer[] = "POOLSCOPE_ENGINE_X=1";
  char* environment[] = {longer, nullptr};
  std::string diagnostics;
  Parse({}, &diagnostics, environment);
  EXPECT_NE(diagnostics.find("unknown variable POOLSCOPE_ENGINE_X"), std::string::npos);
}

}  // namespace
}  // namespace poolscope::common
