#include "proxy/route/merge.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <random>
#include <vector>

#include "proxy/commands/command_table.h"
#include "proxy/resp/reply_scanner.h"
#include "proxy/resp/reply_writer.h"
#include "proxy/route/errors.h"
#include "proxy/route/info_merge.h"
#include "proxy/route/scan.h"

namespace rl::proxy {

namespace {

std::string_view Label(const Request* f) {
  return f->backend_label != nullptr ? std::string_view(*f->backend_label) : "?";
}

bool IsError(const Request* f) { return f->reply_is_error || f->reply.starts_with('-'); }

// The error a failed fragment turns into.
void SetFragmentError(Request* parent, const Request* f) {
  if (f->reply_is_error) {
    parent->reply_own.assign(f->reply);  // ringleader's own, already naming the backend
  } else {
    parent->reply_own = ForwardedBackendError(Label(f), f->reply);
  }
}

void SetUnexpected(Request* parent, const Request* f) {
  parent->reply_own = BackendError(Label(f), "unexpected reply to a split command");
}

// Returns false when it set an error in reply_own instead.
bool MergeKeyOrder(Request* parent, ChunkPool* chunks) {
  thread_local std::vector<ArrayElements> elements;
  thread_local std::vector<int64_t> keys_per_fragment;
  elements.clear();
  keys_per_fragment.assign(parent->fragments.size(), 0);
  for (uint32_t f : parent->key_fragment) ++keys_per_fragment[f];
  size_t size = 24;  // the "*N\r\n" header, at most
  for (size_t i = 0; i < parent->fragments.size(); ++i) {
    elements.emplace_back(parent->fragments[i]->reply);
    if (elements.back().count() != keys_per_fragment[i]) {
      SetUnexpected(parent, parent->fragments[i]);
      return false;
    }
    size += elements.back().remaining_bytes();
  }
  char* out;
  if (chunks != nullptr) {
    parent->reply_chunk = chunks->Get(size);
    out = parent->reply_chunk->data();
  } else {
    parent->reply_own.resize(size);
    out = parent->reply_own.data();
  }
  char* p = out;
  *p++ = '*';
  p = std::to_chars(p, p + 20, parent->key_fragment.size()).ptr;
  *p++ = '\r';
  *p++ = '\n';
  for (uint32_t f : parent->key_fragment) {
    std::string_view e = elements[f].Next();
    std::memcpy(p, e.data(), e.size());
    p += e.size();
  }
  if (chunks != nullptr) {
    parent->reply = std::string_view(out, static_cast<size_t>(p - out));
  } else {
    parent->reply_own.resize(static_cast<size_t>(p - out));
    parent->UseOwnReply();
  }
  return true;
}

void MergeSum(Request* parent) {
  int64_t sum = 0;
  for (const Request* f : parent->fragments) {
    ReplyValue v;
    if (!ReadReplyValue(f->reply, &v) || v.type != ':') {
      SetUnexpected(parent, f);
      return;
    }
    sum += v.integer;
  }
  parent->reply_own.clear();
  AppendInteger(&parent->reply_own, sum);
}

void MergeAllOk(Request* parent) {
  for (const Request* f : parent->fragments) {
    if (f->reply != "+OK\r\n") {
      SetUnexpected(parent, f);
      return;
    }
  }
  parent->reply_own = "+OK\r\n";
}

void MergeAllEqual(Request* parent) {
  const Request* first = parent->fragments.front();
  for (const Request* f : parent->fragments) {
    if (f->reply != first->reply) {
      parent->reply_own.clear();
      AppendError(&parent->reply_own, "ERR backends " + std::string(Label(first)) + " and " +
                                          std::string(Label(f)) + " gave different replies");
      return;
    }
  }
  parent->reply_own.assign(first->reply);
}

void MergeAndArrays(Request* parent) {
  thread_local std::vector<int64_t> result;
  result.clear();
  for (size_t i = 0; i < parent->fragments.size(); ++i) {
    const Request* f = parent->fragments[i];
    ArrayElements e(f->reply);
    ReplyValue header;
    if (!ReadReplyValue(f->reply, &header) || header.type != '*' ||
        (i > 0 && e.count() != static_cast<int64_t>(result.size()))) {
      SetUnexpected(parent, f);
      return;
    }
    for (int64_t j = 0; j < e.count(); ++j) {
      ReplyValue v;
      if (!ReadReplyValue(e.Next(), &v) || v.type != ':') {
        SetUnexpected(parent, f);
        return;
      }
      if (i == 0) {
        result.push_back(v.integer);
      } else {
        result[j] = result[j] != 0 && v.integer != 0 ? 1 : 0;
      }
    }
  }
  std::string& out = parent->reply_own;
  out.clear();
  AppendArrayHeader(&out, static_cast<int64_t>(result.size()));
  for (int64_t v : result) AppendInteger(&out, v);
}

// KEYS: every server's array, one after the other, in server order.
void MergeConcatArrays(Request* parent) {
  int64_t total = 0;
  for (const Request* f : parent->fragments) {
    ReplyValue v;
    if (!ReadReplyValue(f->reply, &v) || v.type != '*' || v.null) {
      SetUnexpected(parent, f);
      return;
    }
    total += v.integer;
  }
  std::string& out = parent->reply_own;
  out.clear();
  AppendArrayHeader(&out, total);
  for (const Request* f : parent->fragments) {
    ReplyValue v;
    ReadReplyValue(f->reply, &v);
    out.append(f->reply.substr(v.header_length));
  }
}

// RANDOMKEY: each server named one of its keys (or nil when empty); pick one of those servers
// at random, so that every server with keys can be chosen.
void MergeRandomNonNil(Request* parent) {
  thread_local std::minstd_rand random(std::random_device{}());
  thread_local std::vector<const Request*> candidates;
  candidates.clear();
  for (const Request* f : parent->fragments) {
    ReplyValue v;
    if (!ReadReplyValue(f->reply, &v) || v.type != '$') {
      SetUnexpected(parent, f);
      return;
    }
    if (!v.null) candidates.push_back(f);
  }
  if (candidates.empty()) {
    parent->reply_own.clear();
    AppendNullBulk(&parent->reply_own);
    return;
  }
  std::uniform_int_distribution<size_t> pick(0, candidates.size() - 1);
  parent->reply_own.assign(candidates[pick(random)]->reply);
}

// SCRIPT KILL, FUNCTION KILL: the script runs on at most one server, so every other server says
// NOTBUSY. OK from any server wins; else a more telling error (UNKILLABLE, a server down); else
// Redis's own NOTBUSY, unchanged, as one Redis would say it.
void MergeAnySuccess(Request* parent) {
  const Request* error = nullptr;
  const Request* not_busy = nullptr;
  for (const Request* f : parent->fragments) {
    if (!IsError(f)) {
      parent->reply_own.assign(f->reply);
      return;
    }
    if (!f->reply_is_error && f->reply.starts_with("-NOTBUSY")) {
      if (not_busy == nullptr) not_busy = f;
    } else if (error == nullptr) {
      error = f;
    }
  }
  if (error != nullptr) {
    SetFragmentError(parent, error);
  } else {
    parent->reply_own.assign(not_busy->reply);
  }
}

// PUBSUB CHANNELS: a channel lives on one server, but one subscribed to directly on another
// server would show twice; keep the first.
void MergeUnionArrays(Request* parent) {
  thread_local std::vector<std::string_view> seen;
  seen.clear();
  std::string body;
  for (const Request* f : parent->fragments) {
    ReplyValue header;
    if (!ReadReplyValue(f->reply, &header) || header.type != '*') {
      SetUnexpected(parent, f);
      return;
    }
    ArrayElements e(f->reply);
    for (int64_t j = 0; j < e.count(); ++j) {
      std::string_view element = e.Next();
      if (std::find(seen.begin(), seen.end(), element) != seen.end()) continue;
      seen.push_back(element);
      body.append(element);
    }
  }
  std::string& out = parent->reply_own;
  out.clear();
  AppendArrayHeader(&out, static_cast<int64_t>(seen.size()));
  out.append(body);
}

// PUBSUB NUMSUB a b: every server answers [a, n1, b, n2] in the order asked; add the counts.
void MergeSumPairs(Request* parent) {
  thread_local std::vector<int64_t> sums;
  sums.clear();
  const Request* first = parent->fragments.front();
  for (const Request* f : parent->fragments) {
    ReplyValue header;
    ArrayElements e(f->reply);
    if (!ReadReplyValue(f->reply, &header) || header.type != '*' || e.count() % 2 != 0 ||
        (f != first && e.count() != static_cast<int64_t>(sums.size()) * 2)) {
      SetUnexpected(parent, f);
      return;
    }
    for (int64_t j = 0; j < e.count() / 2; ++j) {
      e.Next();  // the name
      ReplyValue v;
      if (!ReadReplyValue(e.Next(), &v) || v.type != ':') {
        SetUnexpected(parent, f);
        return;
      }
      if (f == first) {
        sums.push_back(v.integer);
      } else {
        sums[j] += v.integer;
      }
    }
  }
  std::string& out = parent->reply_own;
  out.clear();
  ArrayElements names(first->reply);
  AppendArrayHeader(&out, names.count());
  for (int64_t v : sums) {
    out.append(names.Next());
    names.Next();
    AppendInteger(&out, v);
  }
}

}  // namespace

void MergeFragments(Request* parent, ChunkPool* chunks) {
  auto merge = static_cast<Merge>(parent->merge);
  if (merge == Merge::kAnySuccess || merge == Merge::kScanCursor || merge == Merge::kInfo) {
    // These look at errors themselves.
    if (merge == Merge::kAnySuccess) {
      MergeAnySuccess(parent);
    } else if (merge == Merge::kInfo) {
      MergeInfoFragments(parent);
    } else {
      MergeScanReply(parent);
    }
    parent->UseOwnReply();
    return;
  }
  for (const Request* f : parent->fragments) {
    if (IsError(f)) {
      SetFragmentError(parent, f);
      parent->UseOwnReply();
      return;
    }
  }
  switch (merge) {
    case Merge::kKeyOrder:
      if (MergeKeyOrder(parent, chunks)) return;  // parent->reply is set
      break;
    case Merge::kSumIntegers:
      MergeSum(parent);
      break;
    case Merge::kAllOk:
      MergeAllOk(parent);
      break;
    case Merge::kAllEqual:
      MergeAllEqual(parent);
      break;
    case Merge::kAndArrays:
      MergeAndArrays(parent);
      break;
    case Merge::kConcatArrays:
      MergeConcatArrays(parent);
      break;
    case Merge::kRandomNonNil:
      MergeRandomNonNil(parent);
      break;
    case Merge::kUnionArrays:
      MergeUnionArrays(parent);
      break;
    case Merge::kSumPairs:
      MergeSumPairs(parent);
      break;
    case Merge::kNone:
    case Merge::kAnySuccess:
    case Merge::kScanCursor:
    case Merge::kInfo:
      parent->reply_own.assign(parent->fragments.front()->reply);
      break;
  }
  parent->UseOwnReply();
}

}  // namespace rl::proxy
