// `poolscope run [OPTIONS] -- CMD ARGS...`: runs a program with the library preloaded.
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_RUN_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_RUN_H_

namespace poolscope::cli {

// args are the words after "run". Returns the process exit status: the program's own, 128+N
// when it died of signal N, or 125/126/127 when poolscope could not run it.
int RunVerb(int argc, char** argv);

extern const char kRunUsage[];

}  // namespace poolscope::cli

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_RUN_H_
