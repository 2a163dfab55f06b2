#include "engine/engine.h"
#include "engine/libc/libc_engine.h"

namespace poolscope::engine {

Engine* EngineFor(common::EngineKind kind) {
  switch (kind) {
    case common::EngineKind::kLibc:
      return &libc::LibcEngine::Instance();
  }
  return &libc::LibcEngine::Instance();
}

}  // namespace poolscope::engine
