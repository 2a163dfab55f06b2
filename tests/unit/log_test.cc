#include "common/log.h"

#include <climits>
#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace poolscope::common {
namespace {

template <typename... Args>
std::string Formatted(const char* fmt, Args... args) {
  char buf[256];
  size_t n = Format(buf, sizeof(buf), fmt, args...);
  EXPECT_EQ(n, strlen(buf));
  return buf;
}

TEST(Format, IntegersOfEveryWidthMatchPrintf) {
  EXPECT_EQ(Formatted("%d %i %u", -42, INT_MIN, 4000000000u), "-42 -2147483648 4000000000");
  EXPECT_EQ(Formatted("%ld %lu", LONG_MIN, ULONG_MAX),
            "-9223372036854775808 18446744073709551615");
  EXPECT_EQ(Formatted("%lld %zu %zd", LLONG_MAX, SIZE_MAX, static_cast<ptrdiff_t>(-1)),
            "9223372036854775807 18446744073709551615 -1");
  EXPECT_EQ(Formatted("%x %lx", 255u, 0xdeadbeefcafeUL), "ff deadbeefcafe");
}

TEST(Format, StringsCharsPointersAndPercent) {
  const char* volatile missing = nullptr;  // volatile: keeps GCC from flagging the null %s
  EXPECT_EQ(Formatted("%s|%s|%c|100%%", "abc", missing, 'z'),
            "abc|(null)|z|100%");
  EXPECT_EQ(Formatted("%p", reinterpret_cast<void*>(0x1234)), "0x1234");
}

TEST(Format, TruncatesToCapacityAndTerminates) {
  char buf[8];
  size_t n = Format(buf, sizeof(buf), "%s", "0123456789");
  EXPECT_EQ(n, 7u);
  EXPECT_STREQ(buf, "0123456");
}

TEST(Format, UnknownConversionIsCopiedVerbatim) { EXPECT_EQ(Formatted("%q%"), "%q"); }

}  // namespace
}  // namespace poolscope::common
