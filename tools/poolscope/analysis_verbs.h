// The verbs that read traces: report and check. Each returns the process exit status
// (0 ok, 1 a budget exceeded, 2 bad input or usage; docs/USAGE.md).
#ifndef POOLSCOPE_TOOLS_POOLSCOPE_ANALYSIS_VERBS_H_
#define POOLSCOPE_TOOLS_POOLSCOPE_ANALYSIS_VERBS_H_

namespace poolscope::cli {

int ReportVerb(int argc, char** argv);
int CheckVerb(int argc, char** argv);
int ExportVerb(int argc, char** argv);
int DiffVerb(int argc, char** argv);

}  // namespace poolscope::cli

#endif  // POOLSCOPE_TOOLS_POOLSCOPE_ANALYSIS_VERBS_H_
