// Exit statuses of the CLI (docs/USAGE.md has the table).
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_EXIT_CODES_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_EXIT_CODES_H_

namespace poolscope::cli {

// Analysis verbs.
inline constexpr int kExitOk = 0;
inline constexpr int kExitThresholdExceeded = 1;
inline constexpr int kExitBadInput = 2;

// `run` passes the program's status through, so its own failures use the codes `env` uses.
inline constexpr int kExitRunInternal = 125;
inline constexpr int kExitRunCannotExecute = 126;
inline constexpr int kExitRunNotFound = 127;
inline constexpr int kExitSignalBase = 128;

}  // namespace poolscope::cli

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_EXIT_CODES_H_
