// POOLSCOPE_HIDDEN marks a declaration of the library's own data that hot paths read. With
// -fvisibility=hidden definitions are hidden, but an `extern` declaration is not: the compiler
// would go through the GOT (an extra load) in case the symbol came from another module.
#ifndef POOLSCOPE_SRC_COMMON_HIDDEN_H_
#define POOLSCOPE_SRC_COMMON_HIDDEN_H_

#define POOLSCOPE_HIDDEN __attribute__((visibility("hidden")))

#endif  // POOLSCOPE_SRC_COMMON_HIDDEN_H_
