// Marks a symbol for export. What is actually exported is decided by src/libpoolscope.map; this
// only lifts the -fvisibility=hidden default for the interposed names.
#ifndef POOLSCOPE_SRC_INTERPOSE_EXPORT_H_
#define POOLSCOPE_SRC_INTERPOSE_EXPORT_H_

#define POOLSCOPE_EXPORT extern "C" __attribute__((visibility("default")))
#define POOLSCOPE_ALIAS(target) \
  __attribute__((alias(#target), copy(target), visibility("default")))

#endif  // POOLSCOPE_SRC_INTERPOSE_EXPORT_H_
