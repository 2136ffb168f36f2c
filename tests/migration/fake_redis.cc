// The fake Redis server of the migration simulator (see fake_redis.h).
#include "tests/migration/fake_redis.h"

#include <algorithm>
#include <charconv>

namespace rl::migration::sim {
namespace {

int64_t ToInt(const std::string& s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

uint64_t ScanHash(const std::string& key) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return (h >> 2) | 1;
}

void FakeServer::Log(const std::string& what, const std::string& key) {
  if (log != nullptr)
    log->push_back(std::to_string(*now_) + " s" + std::to_string(id) + " " + what + " " + key);
}

void FakeServer::ExpireIfDue(const std::string& key) {
  auto it = data_.find(key);
  if (it != data_.end() && it->second.expire_at && *it->second.expire_at <= *now_) data_.erase(it);
}

const Value* FakeServer::Find(const std::string& key) {
  ExpireIfDue(key);
  auto it = data_.find(key);
  return it == data_.end() ? nullptr : &it->second;
}

bool FakeServer::Exists(const std::string& key) { return Find(key) != nullptr; }

bool FakeServer::Erase(const std::string& key) {
  ExpireIfDue(key);
  Log("erase", key);
  return data_.erase(key) > 0;
}

std::optional<Value> FakeServer::Take(const std::string& key) {
  ExpireIfDue(key);
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  Log("take", key);
  Value v = std::move(it->second);
  data_.erase(it);
  return v;
}

Reply FakeServer::Execute(const Command& c) {
  const auto& a = c.argv;
  if (log != nullptr) {
    std::string line;
    for (const auto& x : a) line += x + " ";
    Log("exec", line);
  }
  const std::string& name = a[0];
  if (name == "GET") {
    const Value* v = Find(a[1]);
    if (v == nullptr) return Reply::Nil();
    if (v->is_hash) return Reply::Err("WRONGTYPE");
    return Reply::String(v->str);
  }
  if (name == "SET") {
    Value v;
    v.str = a[2];
    if (a.size() == 5 && a[3] == "PX") v.expire_at = *now_ + static_cast<uint64_t>(ToInt(a[4]));
    data_[a[1]] = std::move(v);
    return Reply::Status("OK");
  }
  if (name == "HSET") {
    ExpireIfDue(a[1]);
    Value& v = data_[a[1]];
    if (!v.is_hash && !v.str.empty()) return Reply::Err("WRONGTYPE");
    v.is_hash = true;
    int64_t added = 0;
    for (size_t i = 2; i + 1 < a.size(); i += 2)
      added += v.hash.insert_or_assign(a[i], a[i + 1]).second;
    return Reply::Integer(added);
  }
  if (name == "DEL") {
    int64_t n = 0;
    for (size_t i = 1; i < a.size(); ++i) n += Erase(a[i]) ? 1 : 0;
    return Reply::Integer(n);
  }
  if (name == "PTTL") return Reply::Integer(Pttl(a[1]));
  if (name == "HLEN") {
    const Value* v = Find(a[1]);
    return Reply::Integer(v == nullptr ? 0 : static_cast<int64_t>(v->hash.size()));
  }
  return Reply::Err("ERR unknown command in the fake");
}

ScanPage FakeServer::Scan(uint64_t cursor, uint32_t count) {
  std::vector<std::pair<uint64_t, std::string>> order;
  for (auto it = data_.begin(); it != data_.end();) {
    if (it->second.expire_at && *it->second.expire_at <= *now_) {
      it = data_.erase(it);
      continue;
    }
    uint64_t h = ScanHash(it->first);
    if (h >= cursor) order.emplace_back(h, it->first);
    ++it;
  }
  std::sort(order.begin(), order.end());
  ScanPage page;
  size_t i = 0;
  // Keys with equal hashes come in one page, so that a cursor never splits them.
  while (i < order.size() && (page.keys.size() < count || order[i].first == order[i - 1].first)) {
    const Value& v = data_[order[i].second];
    ScannedKey k;
    k.key = order[i].second;
    k.type = v.is_hash ? KeyType::kHash : KeyType::kString;
    k.elements = v.is_hash ? v.hash.size() : 1;
    k.bytes = v.is_hash ? v.hash.size() * 16 : v.str.size();
    page.keys.push_back(std::move(k));
    ++i;
  }
  page.next_cursor = i < order.size() ? order[i].first : 0;
  return page;
}

Chunk FakeServer::ReadChunk(const std::string& key, uint64_t cursor, uint32_t count) {
  Chunk chunk;
  const Value* v = Find(key);
  if (v == nullptr || !v->is_hash) {
    chunk.key_exists = v != nullptr;
    return chunk;
  }
  auto it = v->hash.begin();
  std::advance(it, std::min<uint64_t>(cursor, v->hash.size()));
  uint64_t i = cursor;
  for (; it != v->hash.end() && i < cursor + count; ++it, ++i) {
    chunk.elements.push_back(it->first);
    chunk.elements.push_back(it->second);
  }
  chunk.next_cursor = i < v->hash.size() ? i : 0;
  return chunk;
}

Result<Done> FakeServer::AppendChunk(const std::string& staging,
                                     const std::vector<std::string>& elements) {
  Value& v = data_[staging];
  v.is_hash = true;
  for (size_t i = 0; i + 1 < elements.size(); i += 2) v.hash[elements[i]] = elements[i + 1];
  return Done{};
}

int64_t FakeServer::Pttl(const std::string& key) {
  const Value* v = Find(key);
  if (v == nullptr) return -2;
  if (!v->expire_at) return -1;
  return static_cast<int64_t>(*v->expire_at - *now_);
}

InstallOutcome FakeServer::InstallStaged(const std::string& staging, const std::string& key,
                                         int64_t pttl) {
  if (Exists(key)) return InstallOutcome::kKeyExists;
  std::optional<Value> v = Take(staging);
  if (!v) return InstallOutcome::kNoStaging;
  Log("install", key);
  v->expire_at.reset();
  if (pttl >= 0) v->expire_at = *now_ + static_cast<uint64_t>(pttl);
  data_[key] = std::move(*v);
  return InstallOutcome::kInstalled;
}

bool FakeServer::FinishInFlight(const std::string& key, const std::string& token, bool delete_key) {
  const Value* m = Find(MarkerKey(key));
  if (m == nullptr || m->str != token) return false;
  Erase(MarkerKey(key));
  if (delete_key) Erase(key);
  return true;
}

std::map<std::string, Value> FakeServer::Snapshot() {
  std::map<std::string, Value> out;
  for (auto& [k, v] : data_) {
    if (v.expire_at && *v.expire_at <= *now_) continue;
    out.emplace(k, v);
  }
  return out;
}

}  // namespace rl::migration::sim
