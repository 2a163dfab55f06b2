// dlopen and dlmopen wrappers that strip RTLD_DEEPBIND.
//
// A library opened with RTLD_DEEPBIND binds malloc and free to glibc's definitions ahead of
// ours, so memory would cross between two heaps. The wrappers are written in assembly so that
// they reach glibc with a jump, not a call: glibc takes the caller's return address to decide
// whose RUNPATH, $ORIGIN and namespace apply, and it must keep seeing the program's caller,
// never this library.
#include <dlfcn.h>

#include <atomic>

namespace poolscope::interpose {
namespace {

template <int kIndex>
void* ResolveOnce(const char* name) {
  static std::atomic<void*> fn{nullptr};
  void* f = fn.load(std::memory_order_acquire);
  if (f == nullptr) {
    f = dlsym(RTLD_NEXT, name);
    fn.store(f, std::memory_order_release);
  }
  return f;
}

}  // namespace

// Called only from the assembly below.
extern "C" __attribute__((visibility("hidden"), used)) void* poolscope_real_dlopen() {
  return ResolveOnce<0>("dlopen");
}
extern "C" __attribute__((visibility("hidden"), used)) void* poolscope_real_dlmopen() {
  return ResolveOnce<1>("dlmopen");
}

static_assert(RTLD_DEEPBIND == 8, "the assembly below clears bit 3 of the mode argument");

// dlopen(file, mode): mode is in %esi. dlmopen(lmid, file, mode): mode is in %edx.
// The stack is realigned to 16 bytes around the call: entry leaves it 8 off, and the pushes
// that save the arguments (an odd count in both, plus the sub) restore it.
asm(R"(
    .text
    .globl dlopen
    .type dlopen, @function
dlopen:
    .cfi_startproc
    pushq %rdi
    .cfi_adjust_cfa_offset 8
    pushq %rsi
    .cfi_adjust_cfa_offset 8
    subq $8, %rsp
    .cfi_adjust_cfa_offset 8
    call poolscope_real_dlopen
    addq $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq %rsi
    .cfi_adjust_cfa_offset -8
    popq %rdi
    .cfi_adjust_cfa_offset -8
    andl $-9, %esi
    jmp *%rax
    .cfi_endproc
    .size dlopen, .-dlopen

    .globl dlmopen
    .type dlmopen, @function
dlmopen:
    .cfi_startproc
    pushq %rdi
    .cfi_adjust_cfa_offset 8
    pushq %rsi
    .cfi_adjust_cfa_offset 8
    pushq %rdx
    .cfi_adjust_cfa_offset 8
    call poolscope_real_dlmopen
    popq %rdx
    .cfi_adjust_cfa_offset -8
    popq %rsi
    .cfi_adjust_cfa_offset -8
    popq %rdi
    .cfi_adjust_cfa_offset -8
    andl $-9, %edx
    jmp *%rax
    .cfi_endproc
    .size dlmopen, .-dlmopen
)");

}  // namespace poolscope::interpose
