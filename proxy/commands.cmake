# The Redis command table (included from proxy/CMakeLists.txt). rl_commands: lookup, key
# extraction, Redis's COMMAND/COMMAND DOCS replies, and the Markdown rendering; rl_command_doc
# prints proxy/COMMANDS.md.
add_library(rl_commands STATIC
  ${CMAKE_CURRENT_LIST_DIR}/command_table.cc
  ${CMAKE_CURRENT_LIST_DIR}/command_keys.cc
  ${CMAKE_CURRENT_LIST_DIR}/command_replies.cc
  ${CMAKE_CURRENT_LIST_DIR}/command_doc.cc)
target_include_directories(rl_commands PUBLIC ${PROJECT_SOURCE_DIR})

add_executable(rl_command_doc ${CMAKE_CURRENT_LIST_DIR}/command_doc_main.cc)
target_link_libraries(rl_command_doc PRIVATE rl_commands)
