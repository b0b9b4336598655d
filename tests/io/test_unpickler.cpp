// The restricted unpickler on hand-written pickles: what it refuses (and that it names the global),
// what it builds as inert records, and malformed input of every kind giving one clear error.
#include <gtest/gtest.h>

#include "tensor/io/torch_file.hpp"
#include "tensor/io/unpickler.hpp"
#include "tests/io/io_test_util.hpp"

using namespace cj;
using namespace cj::io;
using namespace std::string_literals;
using test::expect_error;

namespace {

PickleTree load(const std::string& bytes) {
  UnpickleOptions options;
  options.source = "test.pkl";
  return unpickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), options);
}

void expect_refused(const std::string& bytes, std::initializer_list<std::string> pieces) {
  std::vector<std::string> all{"test.pkl"};
  all.insert(all.end(), pieces.begin(), pieces.end());
  try {
    load(bytes);
    ADD_FAILURE() << "loaded; expected an error mentioning " << *pieces.begin();
  } catch (const Error& e) {
    for (const auto& p : all) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}



}  // namespace

TEST(Unpickler, RefusesGlobalsThatRunCodeAsSoonAsTheyAreNamed) {
  expect_refused("\x80\x02"s "c__builtin__\neval\n" "X\x03\x00\x00\x00"s "1+1" "\x85R."s, {"'__builtin__.eval'", "refusing", "nothing was executed"});
  expect_refused("\x80\x02"s "cbuiltins\nexec\n" ")R.", {"'builtins.exec'"});
  expect_refused("\x80\x04"s "\x8c\x02os\x8c\x06system\x93"s "\x8c\x02ls\x85R."s, {"'os.system'", "STACK_GLOBAL"});
  expect_refused("\x80\x02"s "cposix\nsystem\n" ")R.", {"'posix.system'", "GLOBAL"});
  expect_refused("\x80\x02"s "csubprocess\nPopen\n" ")R.", {"'subprocess.Popen'"});
  expect_refused("\x80\x02"s "cos.path\njoin\n" ".", {"'os.path.join'"});
}

TEST(Unpickler, RefusesCallsOutsideTheAllowList) {
  expect_refused("\x80\x02"s "ccollections\nCounter\n" ")R.", {"calls 'collections.Counter'", "not one of", "nothing was executed"});
  expect_refused("(imymod\nThing\n.", {"calls 'mymod.Thing'"});        // INST calls the class
  expect_refused("(cmymod\nThing\no.", {"calls 'mymod.Thing'"});       // OBJ too
  expect_refused("\x80\x02"s "ctorch\nload\n" ")R.", {"calls 'torch.load'"});
}

TEST(Unpickler, NewobjOfAnUnknownClassBuildsAnInertRecord) {
  // mymod.Thing.__new__(mymod.Thing) then BUILD {'a': 5}: a record, nothing constructed.
  PickleTree t = load("\x80\x02"s "cmymod\nThing\n" ")\x81"s "}X\x01\x00\x00\x00"s "aK\x05"s "sb.");
  EXPECT_EQ(t.root().kind, Value::Kind::object);
  EXPECT_EQ(t.root().text, "mymod.Thing");
  EXPECT_EQ(t.root().at("a").integer, 5);
  EXPECT_FALSE(t.root().is_module_record());
  // copyreg._reconstructor(cls, object, None) (protocol 0/1 style) is a record too.
  PickleTree r = load("\x80\x02"s "ccopy_reg\n_reconstructor\n" "cmymod\nThing\n" "c__builtin__\nobject\n" "N\x87R."s);
  EXPECT_EQ(r.root().text, "mymod.Thing");
}

TEST(Unpickler, NumbersStringsAndContainers) {
  // {'i': -1 (LONG1), 'big': 2**63-1, 'f': 0.5, 's': 'é', 'b': b'\x00\x01', 't': (True, None), 'set': {1}}
  std::string p = "\x80\x04}(";
  p += "\x8c\x01i\x8a\x01\xff"s;
  p += "\x8c\x03"s "big" "\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f"s;
  p += "\x8c\x01"s "fG\x3f\xe0\x00\x00\x00\x00\x00\x00"s;
  p += "\x8c\x01s\x8c\x02\xc3\xa9"s;
  p += "\x8c\x01"s "bC\x02\x00\x01"s;
  p += "\x8c\x01t\x88N\x86"s;
  p += "\x8c\x03set\x8f(K\x01\x90"s;
  p += "u.";
  PickleTree t = load(p);
  const Value& d = t.root();
  EXPECT_EQ(d.at("i").integer, -1);
  EXPECT_EQ(d.at("big").integer, INT64_MAX);
  EXPECT_DOUBLE_EQ(d.at("f").floating, 0.5);
  EXPECT_EQ(d.at("s").text, "\xc3\xa9"s);
  EXPECT_EQ(d.at("b").kind, Value::Kind::bytes);
  EXPECT_EQ(d.at("b").text, "\x00\x01"s);
  EXPECT_TRUE(d.at("t").items[0]->boolean);
  EXPECT_EQ(d.at("t").items[1]->kind, Value::Kind::none);
  EXPECT_EQ(d.at("set").items.size(), 1u);
  // Python 2 bytes: _codecs.encode(u'\x00\xff', 'latin1').
  PickleTree b = load("\x80\x02"s "c_codecs\nencode\n" "X\x03\x00\x00\x00"s "\x00\xc3\xbf"s "X\x06\x00\x00\x00"s "latin1\x86R."s);
  EXPECT_EQ(b.root().text, "\x00\xff"s);
  // A later SETITEM for the same key replaces the value, as in a Python dict.
  PickleTree dup = load("\x80\x02}(X\x01\x00\x00\x00kK\x01X\x01\x00\x00\x00kK\x02u."s);
  EXPECT_EQ(dup.root().entries.size(), 1u);
  EXPECT_EQ(dup.root().at("k").integer, 2);
}

TEST(Unpickler, MalformedPicklesGiveOneClearError) {
  expect_refused("\x80\x02h\x05."s, {"memo key 5"});
  expect_refused("\x80\x02t."s, {"no MARK"});
  expect_refused("\x80\x02\x85."s, {"stack underflow"});
  expect_refused("\x80\x02X\xff\x00\x00\x00"s "ab", {"declares 255 bytes", "truncated"});
  expect_refused("\x80\x02N"s, {"without a STOP", "truncated"});
  expect_refused("\x80\x06N."s, {"protocol 6"});
  expect_refused("\x80\x02\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09."s, {"does not fit in 64 bits"});
  expect_refused("\x80\x02\xff."s, {"unknown opcode"});
  expect_refused("\x80\x02X\x01\x00\x00\x00"s "aQ.", {"persistent id", "legacy"});
  expect_refused("\x80\x02"s "ctorch._utils\n_rebuild_tensor_v2\n" "(K\x01K\x00)}t"s "R.", {"argument 0 must be a storage"});
  expect_refused("\x80\x02K\x01K\x02K\x03s."s, {"SETITEM", "expected a dict"});
  expect_refused("\x80\x02\x82\x01."s, {"extension registry"});
  // Found by fuzz_unpickle: an allow-listed call with too few arguments.
  expect_refused("\x80\x02"s "cnumpy.core.numeric\n_frombuffer\n" "C\x01" "a\x85R."s, {"_frombuffer", "expected at least 2 arguments"});
  expect_refused("\x80\x05\x97."s, {"out-of-band buffers"});
}

TEST(Unpickler, CyclesAndDeepNestingStayBounded) {
  // l = []; l.append(l): the tree holds the cycle; outlining stops at its depth, flattening refuses.
  PickleTree cyc = load("\x80\x02]q\x00h\x00"s "a.");
  EXPECT_EQ(cyc.root().items[0], &cyc.root());
  EXPECT_FALSE(cyc.summary().empty());
  expect_error([&] { tensors_from_tree(cyc.root()); }, {"nested deeper than"});
  // 100000 nested lists: built iteratively, freed without recursion.
  std::string deep = "\x80\x02"s;
  for (int i = 0; i < 100000; ++i) deep += "]";
  for (int i = 0; i < 99999; ++i) deep += "a";
  deep += ".";
  PickleTree t = load(deep);
  EXPECT_EQ(t.root().items.size(), 1u);
  expect_error([&] { tensors_from_tree(t.root()); }, {"nested deeper than"});
}

TEST(Unpickler, EveryTruncationOfAValidPickleIsAnError) {
  std::string p = "\x80\x02}(X\x01\x00\x00\x00"s "aK\x05X\x01\x00\x00\x00"s "b]" "(G\x3f\xe0\x00\x00\x00\x00\x00\x00N"s "eu.";
  ASSERT_EQ(load(p).root().at("a").integer, 5);
  for (std::size_t len = 0; len < p.size(); ++len)
    expect_error([&] { load(p.substr(0, len)); }, {"test.pkl"});
}
