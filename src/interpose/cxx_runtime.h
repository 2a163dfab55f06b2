// The C++ runtime's part in operator new's failure paths (the new-handler and std::bad_alloc),
// and in a recorded program's end (libstdc++'s emergency exception pool).
//
// The library does not link libstdc++: most programs it is preloaded into are C and would map
// it (1.3 MiB resident) for nothing. A program whose code calls operator new has libstdc++
// loaded: in the global scope after us, or only in the local scope of a library it dlopened (a
// C program with a C++ plugin), where it is found by its soname with RTLD_NOLOAD, which never
// loads it. Only failed allocations come here, outside every lock of ours: the loader's own
// allocations are ordinary ones.
#ifndef POOLSCOPE_SRC_INTERPOSE_CXX_RUNTIME_H_
#define POOLSCOPE_SRC_INTERPOSE_CXX_RUNTIME_H_

#include <cstddef>
#include <new>

namespace poolscope::interpose {

// What std::get_new_handler() returns; null also when libstdc++ is not loaded, since then
// nothing can have installed a handler.
std::new_handler CurrentNewHandler();

// Throws std::bad_alloc from libstdc++; without libstdc++ there is no one to catch it, so it
// aborts with one line.
[[noreturn]] void ThrowBadAlloc();

// libstdc++'s own nothrow operator new (new[] when `array`, the align_val_t form when
// `alignment` is not 0). Nothrow new must turn a handler's exception into null, and this
// library has no exception handling of its own: libstdc++'s nothrow forms run the handler loop
// inside a try block (by calling the throwing form, i.e. ours, since GCC 9). Null when
// libstdc++ is not loaded.
void* RuntimeNothrowNew(size_t size, size_t alignment, bool array) noexcept;

// Lets libstdc++ free the pool it keeps for exceptions thrown when malloc fails (about 71 KiB,
// allocated by its constructor and otherwise never freed), as valgrind and the sanitizers do
// at exit: in a trace every C++ program would otherwise leak it. For the library's destructor:
// what runs after it (other libraries' destructors) throws nothing malloc cannot serve, and
// libstdc++ then simply has no emergency pool. Nothing happens when libstdc++ is not loaded.
void FreeEmergencyPool();

}  // namespace poolscope::interpose

#endif  // POOLSCOPE_SRC_INTERPOSE_CXX_RUNTIME_H_
