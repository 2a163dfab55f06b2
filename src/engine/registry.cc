#include "engine/engine.h"
#include "engine/libc/libc_engine.h"
#include "engine/pool/pool_engine.h"

namespace poolscope::engine {

Engine* EngineFor(common::EngineKind kind) {
  switch (kind) {
    case common::EngineKind::kLibc:
      return &libc::LibcEngine::Instance();
    case common::EngineKind::kPool:
      return &pool::PoolEngine::Instance();
  }
  return &libc::LibcEngine::Instance();
}

}  // namespace poolscope::engine
