#include "torch_save.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

namespace panoramia::vit {
namespace {

struct Object;
using Ref = std::shared_ptr<Object>;

/// A Python value as far as state dicts need them.
struct Object {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kStorage,
    kTensor,
    kMark
  };
  Kind kind = Kind::kNone;
  std::int64_t integer = 0;
  double real = 0;
  std::string text;                          // string, or "module.name" of a global
  std::vector<Ref> items;                    // tuple, list
  std::vector<std::pair<Ref, Ref>> entries;  // dict, in insertion order
  at::Tensor tensor;                         // storage (flat) or tensor
  int depth = 0;                             // nesting below this value (0: holds none)

  Object() = default;
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  // Frees nested containers with a work list instead of recursion, so that a hostile chain of
  // nested containers (built top-down, past the depth check) cannot overflow the stack.
  ~Object() {
    std::vector<Ref> pending;
    const auto take = [&pending](Object& o) {
      for (auto& item : o.items) pending.push_back(std::move(item));
      for (auto& [key, value] : o.entries) {
        pending.push_back(std::move(key));
        pending.push_back(std::move(value));
      }
      o.items.clear();
      o.entries.clear();
    };
    take(*this);
    while (!pending.empty()) {
      Ref next = std::move(pending.back());
      pending.pop_back();
      if (next && next.use_count() == 1) take(*next);
    }
  }
};

// Containers nest at most this deep: a state dict needs a handful of levels, and a bound keeps a
// hostile pickle (200,000 nested lists) from overflowing the stack when it is walked or freed.
constexpr int kMaxDepth = 256;

Ref make(Object::Kind kind) {
  auto o = std::make_shared<Object>();
  o->kind = kind;
  return o;
}

at::ScalarType storage_dtype(const std::string& name) {
  static const std::unordered_map<std::string, at::ScalarType> types{
      {"torch.FloatStorage", at::kFloat}, {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},   {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},   {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort}, {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},   {"torch.BoolStorage", at::kBool}};
  const auto it = types.find(name);
  if (it == types.end()) throw std::runtime_error("unsupported storage type " + name);
  return it->second;
}

std::vector<std::int64_t> ints(const Ref& tuple) {
  std::vector<std::int64_t> out;
  for (const auto& item : tuple->items) out.push_back(item->integer);
  return out;
}

class Machine {
 public:
  Machine(caffe2::serialize::PyTorchStreamReader& reader, const char* data, std::size_t size)
      : reader_(reader), data_(data), size_(size) {}
  // A hostile pickle can build reference cycles (a container put into one it contains), which
  // shared pointers never free (found by fuzz_torch_save: LeakSanitizer); emptying every container
  // made here frees them, without recursion.
  ~Machine() {
    for (auto& object : made_) {
      object->items.clear();
      object->entries.clear();
    }
  }
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  Ref run() {
    while (true) {
      const std::uint8_t op = byte();
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          skip(8);
          break;  // FRAME
        case '.':
          return pop();  // STOP
        case '(':
          stack_.push_back(make(Object::Kind::kMark));
          break;
        case 'N':
          stack_.push_back(make(Object::Kind::kNone));
          break;
        case 0x88:
        case 0x89: {  // NEWTRUE, NEWFALSE
          auto b = make(Object::Kind::kBool);
          b->integer = op == 0x88;
          stack_.push_back(b);
          break;
        }
        case 'K':
          push_int(byte());
          break;  // BININT1
        case 'M':
          push_int(little(2));
          break;  // BININT2
        case 'J':
          push_int(std::int32_t(little(4)));
          break;      // BININT
        case 0x8a: {  // LONG1
          const std::size_t n = byte();
          // Found by fuzz_torch_save: a longer integer shifted past 64 bits (undefined behaviour).
          if (n > 8)
            fail("a LONG1 integer of " + std::to_string(n) + " bytes does not fit 64 bits");
          std::int64_t v = n ? std::int64_t(little(n) << (64 - 8 * n)) >> (64 - 8 * n) : 0;
          push_int(v);
          break;
        }
        case 'G': {  // BINFLOAT (big-endian)
          std::uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | byte();
          auto f = make(Object::Kind::kFloat);
          std::memcpy(&f->real, &bits, 8);
          stack_.push_back(f);
          break;
        }
        case 'X':
          push_string(little(4));
          break;  // BINUNICODE
        case 0x8c:
          push_string(byte());
          break;  // SHORT_BINUNICODE
        case 'C':
          push_string(byte());
          break;  // SHORT_BINBYTES
        case 'B':
          push_string(little(4));
          break;     // BINBYTES
        case 'c': {  // GLOBAL
          auto g = make(Object::Kind::kGlobal);
          const std::string module = line();  // two statements: operands are unsequenced
          g->text = module + "." + line();
          stack_.push_back(g);
          break;
        }
        case 'q':
          memo_[byte()] = top();
          break;  // BINPUT
        case 'r':
          memo_[little(4)] = top();
          break;  // LONG_BINPUT
        case 0x94:
          memo_[memo_.size()] = top();
          break;  // MEMOIZE
        case 'h':
          stack_.push_back(memo(byte()));
          break;  // BINGET
        case 'j':
          stack_.push_back(memo(little(4)));
          break;  // LONG_BINGET
        case ')':
          stack_.push_back(make(Object::Kind::kTuple));
          break;
        case ']':
          stack_.push_back(make(Object::Kind::kList));
          break;
        case '}':
          stack_.push_back(make(Object::Kind::kDict));
          break;
        case 't': {
          auto t = make(Object::Kind::kTuple);
          t->items = pop_to_mark();
          for (const auto& item : t->items) deepen(*t, *item);
          stack_.push_back(t);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          auto t = make(Object::Kind::kTuple);
          t->items.resize(op - 0x84);
          for (auto it = t->items.rbegin(); it != t->items.rend(); ++it) {
            *it = pop();
            deepen(*t, **it);
          }
          stack_.push_back(t);
          break;
        }
        case 'a': {
          auto v = pop();
          deepen(*top(), *v);
          top()->items.push_back(v);
          break;
        }
        case 'e': {
          auto values = pop_to_mark();
          auto& container = *top();
          for (const auto& v : values) deepen(container, *v);
          container.items.insert(container.items.end(), values.begin(), values.end());
          break;
        }
        case 's': {
          auto value = pop();
          auto key = pop();
          deepen(*top(), *key);
          deepen(*top(), *value);
          top()->entries.emplace_back(key, value);
          break;
        }
        case 'u': {
          auto values = pop_to_mark();
          auto& dict = *top();
          for (std::size_t i = 0; i + 1 < values.size(); i += 2) {
            deepen(dict, *values[i]);
            deepen(dict, *values[i + 1]);
            dict.entries.emplace_back(values[i], values[i + 1]);
          }
          break;
        }
        case 'b':
          pop();
          break;  // BUILD: the only state torch.save gives dicts is _metadata
        case 'Q':
          stack_.push_back(storage(pop()));
          break;  // BINPERSID
        case 'R': {
          auto args = pop();
          auto callable = pop();
          stack_.push_back(reduce(callable, args));
          break;
        }
        default:
          fail("unsupported pickle opcode 0x" + hex(op));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(what + " at pickle offset " + std::to_string(pos_ - 1));
  }
  std::uint8_t byte() {
    if (pos_ >= size_) fail("the pickle ends early");
    return std::uint8_t(data_[pos_++]);
  }
  void skip(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) byte();
  }
  std::uint64_t little(std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(byte()) << (8 * i);
    return v;
  }
  std::string line() {
    std::string s;
    for (char c = char(byte()); c != '\n'; c = char(byte())) s += c;
    return s;
  }
  static std::string hex(std::uint8_t v) {
    const char* digits = "0123456789abcdef";
    return std::string{digits[v >> 4], digits[v & 15]};
  }
  void push_int(std::int64_t v) {
    auto i = make(Object::Kind::kInt);
    i->integer = v;
    stack_.push_back(i);
  }
  void push_string(std::size_t n) {
    auto s = make(Object::Kind::kString);
    if (pos_ + n > size_) fail("a string runs past the end of the pickle");
    s->text.assign(data_ + pos_, n);
    pos_ += n;
    stack_.push_back(s);
  }
  // The top of the stack, for the opcodes that work on it in place.
  const Ref& top() const {
    if (stack_.empty()) fail("the pickle works on an empty stack");
    return stack_.back();
  }
  // `container` now holds `child`: a container that holds itself (its depth would grow without
  // end) or nests past kMaxDepth is refused.
  void deepen(Object& container, const Object& child) const {
    if (&container == &child) fail("the pickle puts a container inside itself");
    container.depth = std::max(container.depth, child.depth + 1);
    if (container.depth > kMaxDepth)
      fail("the pickle nests containers more than " + std::to_string(kMaxDepth) + " deep");
  }
  Ref pop() {
    if (stack_.empty()) fail("the pickle pops an empty stack");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  std::vector<Ref> pop_to_mark() {
    std::vector<Ref> out;
    while (!stack_.empty() && stack_.back()->kind != Object::Kind::kMark) out.push_back(pop());
    if (stack_.empty()) fail("the pickle has no mark");
    stack_.pop_back();
    return {out.rbegin(), out.rend()};
  }
  Ref memo(std::uint64_t index) const {
    const auto it = memo_.find(index);
    if (it == memo_.end())
      fail("the pickle reads memo " + std::to_string(index) + " before writing it");
    return it->second;
  }

  /// ('storage', storage type, key, location, numel): the raw record data/<key>.
  Ref storage(const Ref& pid) {
    if (pid->kind != Object::Kind::kTuple || pid->items.size() < 5 ||
        pid->items[0]->text != "storage")
      fail("unsupported persistent id");
    const auto dtype = storage_dtype(pid->items[1]->text);
    const std::string& key = pid->items[2]->text;
    const std::int64_t numel = pid->items[4]->integer;
    auto found = storages_.find(key);
    if (found == storages_.end()) {
      auto [data, bytes] = reader_.getRecord("data/" + key);
      const auto element = c10::elementSize(dtype);
      // Checked by division, so that a huge element count cannot wrap the product around.
      if (numel < 0 || std::size_t(numel) > bytes / element)
        fail("storage " + key + " (" + std::to_string(bytes) + " bytes) is shorter than its " +
             std::to_string(numel) + " elements");
      auto t = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
      // An empty record has no data pointer (found by fuzz_torch_save: memcpy from null).
      if (numel > 0) std::memcpy(t.data_ptr(), data.get(), std::size_t(numel) * element);
      found = storages_.emplace(key, t).first;
    }
    auto s = make(Object::Kind::kStorage);
    s->tensor = found->second;
    return s;
  }

  Ref reduce(const Ref& callable, const Ref& args) {
    const std::string& name = callable->text;
    if (name == "collections.OrderedDict") return make(Object::Kind::kDict);
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      const auto& a = args->items;
      if (a.size() < 4 || a[0]->kind != Object::Kind::kStorage) fail("malformed tensor");
      auto t = make(Object::Kind::kTensor);
      t->tensor = a[0]->tensor.as_strided(ints(a[2]), ints(a[3]), a[1]->integer).clone();
      return t;
    }
    // Parameters wrap a tensor; LibTorch's typed containers wrap the container with its type.
    if (name == "torch._utils._rebuild_parameter" || name == "torch.jit._pickle.restore_type_tag")
      return args->items.at(0);
    fail("unsupported global " + name);
  }

  caffe2::serialize::PyTorchStreamReader& reader_;
  const char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  // Every object made, to break cycles at the end.
  Ref make(Object::Kind kind) {
    made_.push_back(vit::make(kind));
    return made_.back();
  }

  std::vector<Ref> made_;
  std::vector<Ref> stack_;
  std::unordered_map<std::uint64_t, Ref> memo_;
  std::unordered_map<std::string, at::Tensor> storages_;
};

// Walks nested dicts to their tensors; `depth` bounds the walk (a dict reached through the memo
// can hold itself indirectly).
void collect(const Ref& value, const std::string& prefix, std::map<std::string, at::Tensor>& out,
             int depth = 0) {
  if (depth > kMaxDepth)
    throw std::runtime_error("the state dict nests more than " + std::to_string(kMaxDepth) +
                             " levels deep (or holds itself)");
  if (value->kind == Object::Kind::kTensor) {
    out[prefix] = value->tensor;
  } else if (value->kind == Object::Kind::kDict) {
    for (const auto& [key, item] : value->entries)
      if (key->kind == Object::Kind::kString)
        collect(item, prefix.empty() ? key->text : prefix + "." + key->text, out, depth + 1);
  }
}

}  // namespace

namespace {

// The zip directory of a torch.save file, checked before LibTorch's reader sees the file: that
// reader allocates each record at the uncompressed size the directory states (a 1 KB file that
// claimed a 4 GB record ended in an out-of-memory kill, found by fuzz_torch_save). torch.save
// stores every record uncompressed, so each entry must be stored (method 0), state equal stored
// and uncompressed sizes, and lie inside the file; then no record is larger than the file.
class ZipDirectoryCheck {
 public:
  explicit ZipDirectoryCheck(const std::filesystem::path& file)
      : in_(file, std::ios::binary), size_(file_size(file)) {}

  void run() {
    constexpr std::uint64_t kEndRecord = 22, kMaxComment = 65535, kLocator = 20;
    if (size_ < kEndRecord) fail("it is too short to be a zip archive");
    const std::uint64_t tail_size = std::min(size_, kEndRecord + kMaxComment + kLocator);
    const auto tail = read(size_ - tail_size, tail_size);
    std::int64_t end = -1;
    for (std::int64_t i = static_cast<std::int64_t>(tail.size() - kEndRecord); i >= 0; --i)
      if (u32(tail, static_cast<std::size_t>(i)) == 0x06054b50) {
        end = i;
        break;
      }
    if (end < 0) fail("it has no zip end-of-directory record");
    const auto e = static_cast<std::size_t>(end);
    std::uint64_t entries = u16(tail, e + 10), cd_size = u32(tail, e + 12),
                  cd_offset = u32(tail, e + 16);
    if (e >= kLocator && u32(tail, e - kLocator) == 0x07064b50) {  // zip64
      const std::uint64_t at = u64(tail, e - kLocator + 8);
      if (at > size_ || size_ - at < 56) fail("its zip64 directory record lies outside the file");
      const auto record = read(at, 56);
      if (u32(record, 0) != 0x06064b50) fail("its zip64 directory record is missing");
      entries = u64(record, 32);
      cd_size = u64(record, 40);
      cd_offset = u64(record, 48);
    }
    if (cd_offset > size_ || cd_size > size_ - cd_offset)
      fail("its zip directory lies outside the file");
    const auto cd = read(cd_offset, cd_size);
    std::size_t pos = 0;
    for (std::uint64_t i = 0; i < entries; ++i) pos = check_entry(cd, pos);
  }

 private:
  static std::uint64_t file_size(const std::filesystem::path& file) {
    std::error_code error;
    const auto size = std::filesystem::file_size(file, error);
    if (error) throw std::runtime_error("cannot open it: " + error.message());
    return size;
  }

  // Checks the directory entry at `pos`; returns where the next one starts.
  std::size_t check_entry(const std::string& cd, std::size_t pos) {
    if (cd.size() - pos < 46 || u32(cd, pos) != 0x02014b50)
      fail("its zip directory is cut short or corrupt");
    const std::uint32_t method = u16(cd, pos + 10);
    std::uint64_t stored = u32(cd, pos + 20), unpacked = u32(cd, pos + 24),
                  local = u32(cd, pos + 42);
    const std::size_t name_size = u16(cd, pos + 28), extra_size = u16(cd, pos + 30),
                      comment_size = u16(cd, pos + 32);
    const std::size_t next = pos + 46 + name_size + extra_size + comment_size;
    if (next > cd.size()) fail("its zip directory is cut short");
    const std::string name = cd.substr(pos + 46, name_size);
    read_zip64_sizes(cd.substr(pos + 46 + name_size, extra_size), unpacked, stored, local);
    if (method != 0)
      fail("record '" + name + "' is compressed (method " + std::to_string(method) +
           "); torch.save stores its records uncompressed");
    if (unpacked != stored)
      fail("record '" + name + "' claims " + std::to_string(unpacked) + " bytes but stores " +
           std::to_string(stored));
    if (local > size_ || size_ - local < 30) fail("record '" + name + "' lies outside the file");
    const auto header = read(local, 30);
    if (u32(header, 0) != 0x04034b50) fail("record '" + name + "' has no local header");
    const std::uint64_t data = local + 30 + u16(header, 26) + u16(header, 28);
    if (data > size_ || stored > size_ - data)
      fail("record '" + name + "' (" + std::to_string(stored) + " bytes) lies outside the file");
    return next;
  }

  // The zip64 extra field holds, in this order, the sizes and offset whose 32-bit fields are full.
  void read_zip64_sizes(const std::string& extra, std::uint64_t& unpacked, std::uint64_t& stored,
                        std::uint64_t& local) {
    constexpr std::uint64_t kFull = 0xffffffff;
    if (unpacked != kFull && stored != kFull && local != kFull) return;
    for (std::size_t at = 0; at + 4 <= extra.size();) {
      const std::size_t id = u16(extra, at), length = u16(extra, at + 2);
      if (at + 4 + length > extra.size()) break;
      if (id == 0x0001) {
        std::size_t field = at + 4;
        for (auto* value : {&unpacked, &stored, &local})
          if (*value == kFull) {
            if (field + 8 > at + 4 + length) fail("its zip64 sizes are cut short");
            *value = u64(extra, field);
            field += 8;
          }
        return;
      }
      at += 4 + length;
    }
  }

  std::string read(std::uint64_t offset, std::uint64_t count) {
    std::string bytes(count, '\0');
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(bytes.data(), static_cast<std::streamsize>(count));
    if (!in_) fail("it cannot be read at byte " + std::to_string(offset));
    return bytes;
  }

  static std::uint64_t le(const std::string& b, std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
      v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
    return v;
  }
  static std::uint32_t u16(const std::string& b, std::size_t at) {
    return static_cast<std::uint32_t>(le(b, at, 2));
  }
  static std::uint32_t u32(const std::string& b, std::size_t at) {
    return static_cast<std::uint32_t>(le(b, at, 4));
  }
  static std::uint64_t u64(const std::string& b, std::size_t at) { return le(b, at, 8); }
  [[noreturn]] static void fail(const std::string& why) { throw std::runtime_error(why); }

  std::ifstream in_;
  std::uint64_t size_;
};

}  // namespace

std::map<std::string, at::Tensor> read_torch_save(const std::filesystem::path& file) {
  try {
    ZipDirectoryCheck(file).run();
    caffe2::serialize::PyTorchStreamReader reader(file.string());
    auto [data, size] = reader.getRecord("data.pkl");
    Machine machine(reader, static_cast<const char*>(data.get()), size);
    std::map<std::string, at::Tensor> out;
    collect(machine.run(), "", out);
    return out;
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot read torch.save file " + file.string() + ": " +
                             std::string(e.what()).substr(0, 300));
  }
}

}  // namespace panoramia::vit
