# One place for the flags every nettool target is built with.
add_library(nettool_flags INTERFACE)
target_compile_options(nettool_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion
  $<$<BOOL:${NETTOOL_WERROR}>:-Werror>)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # Asio's deferred/parallel_group machinery trips this false positive in g++ 12.
  target_compile_options(nettool_flags INTERFACE -Wno-maybe-uninitialized)
  # ... and this one in coroutine frames allocated by Asio (operator new/delete
  # pairs of awaitable_frame_base) once optimisation and sanitizers inline them.
  target_compile_options(nettool_flags INTERFACE -Wno-mismatched-new-delete)
endif()
if(NETTOOL_FUZZ)
  # Every library the fuzzers link is instrumented for coverage and ASan.
  # Not UBSan: clang 14 fails on Asio coroutines with it ("Cannot represent a
  # difference across sections"); the g++ ASan+UBSan build covers it.
  target_compile_options(nettool_flags INTERFACE -fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer)
  target_link_options(nettool_flags INTERFACE -fsanitize=address)
endif()
if(NETTOOL_SANITIZE)
  target_compile_options(nettool_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(nettool_flags INTERFACE -fsanitize=address,undefined)
endif()
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
