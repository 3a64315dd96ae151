#include "torch_save.hpp"

#include <cstring>
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
      if (bytes < std::size_t(numel) * element)
        fail("storage " + key + " is shorter than its size");
      auto t = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
      std::memcpy(t.data_ptr(), data.get(), std::size_t(numel) * element);
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

std::map<std::string, at::Tensor> read_torch_save(const std::filesystem::path& file) {
  try {
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
