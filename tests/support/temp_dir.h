// A temporary directory removed (recursively) when the object goes out of scope.
// Used by tests for server working directories, logs and generated configuration files.
#pragma once

#include <string>
#include <utility>

namespace rl::testing {

class TempDir {
 public:
  TempDir();  // mkdtemp under $TMPDIR (or /tmp); aborts on failure
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Writes `contents` to File(name) and returns that path; aborts on failure.
  std::string Write(const std::string& name, const std::string& contents) const;

 private:
  std::string path_;
};

}  // namespace rl::testing
