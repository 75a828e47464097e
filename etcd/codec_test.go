package etcd_test

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/controlloop/controlloop"
	"github.com/controlloop/controlloop/etcd"
	"github.com/controlloop/controlloop/etcd/etcdtest"
	"github.com/google/go-cmp/cmp"
)

// FuzzCodecDecode checks that the JSON codec never panics on arbitrary
// stored bytes, and that what it decodes encodes to bytes that decode to
// the same object and encode the same again. Seeds:
// testdata/fuzz/FuzzCodecDecode.
func FuzzCodecDecode(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `{"name":"a","labels":{"k":"v"},"spec":"s"}`,
		`{"ownerReferences":[{"kind":"K","name":"o","controller":true}]}`,
		`{"generation":9223372036854775807}`, `{"generation":1e400}`, `[`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var codec etcd.JSON
		var p Pod
		if err := codec.Decode(data, &p); err != nil {
			return
		}
		b, err := codec.Encode(&p)
		if err != nil {
			t.Fatalf("Encode of a decoded %+v: %v", p, err)
		}
		var q Pod
		if err := codec.Decode(b, &q); err != nil {
			t.Fatalf("Decode(%q), the encoding of %+v: %v", b, p, err)
		}
		b2, err := codec.Encode(&q)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("re-encoding changed %q to %q (%v)", b, b2, err)
		}
	})
}

// FuzzCodecRoundTrip checks that the JSON codec decodes what it encodes to
// the object it was given. Seeds: testdata/fuzz/FuzzCodecRoundTrip.
func FuzzCodecRoundTrip(f *testing.F) {
	f.Add("ns", "name", "uid", "7", int64(1), "k", "v", "spec", "status")
	f.Add("", "", "", "", int64(-1), "", "", "", "")
	f.Fuzz(func(t *testing.T, ns, name, uid, rv string, gen int64, lk, lv, spec, status string) {
		var codec etcd.JSON
		in := &Pod{ObjectMeta: controlloop.ObjectMeta{
			Namespace: ns, Name: name, UID: uid, ResourceVersion: rv, Generation: gen,
			Labels:          map[string]string{lk: lv},
			OwnerReferences: []controlloop.OwnerReference{{Kind: lk, Name: lv, UID: uid, Controller: true}},
		}, Spec: spec, Status: status}
		b, err := codec.Encode(in)
		valid := true
		for _, s := range []string{ns, name, uid, rv, lk, lv, spec, status} {
			valid = valid && utf8.ValidString(s)
		}
		if !valid {
			if !errors.Is(err, controlloop.ErrInvalid) {
				t.Fatalf("Encode(%+v) = %q, %v; want an error wrapping ErrInvalid for a string that is not UTF-8", in, b, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Encode(%+v): %v", in, err)
		}
		out := new(Pod)
		if err := codec.Decode(b, out); err != nil {
			t.Fatalf("Decode(%q): %v", b, err)
		}
		if diff := cmp.Diff(in, out); diff != "" {
			t.Fatalf("round trip through %q (-in +out):\n%s", b, diff)
		}
	})
}

// TestJSONRefusesInvalidUTF8 checks that the JSON codec refuses an object
// holding a string that is not valid UTF-8, which encoding/json would have
// stored with U+FFFD in place of the bad bytes (found by
// FuzzCodecRoundTrip, input testdata/fuzz/FuzzCodecRoundTrip/1d2554bb83ce13fe),
// and still encodes a real U+FFFD and a backslash before "ufffd".
func TestJSONRefusesInvalidUTF8(t *testing.T) {
	var codec etcd.JSON
	for _, s := range []string{"\xb5", "ok\xffok"} {
		p := &Pod{Spec: s}
		if b, err := codec.Encode(p); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("Encode(Spec %q) = %q, %v; want an error wrapping ErrInvalid", s, b, err)
		}
	}
	for _, s := range []string{"\ufffd", `\ufffd`, `\\ufffd`, "a\\"} {
		p := &Pod{Spec: s}
		b, err := codec.Encode(p)
		if err != nil {
			t.Errorf("Encode(Spec %q): %v", s, err)
			continue
		}
		var q Pod
		if err := codec.Decode(b, &q); err != nil || q.Spec != s {
			t.Errorf("Spec %q read back as %q (%v)", s, q.Spec, err)
		}
	}
}

// TestJSONKind (issue 13, item 5): the JSON codec stores the kind of the
// object with it and refuses a value of another kind with ErrKind (a Node
// stored where Pods live used to decode into a wrong Pod); a Kind set on
// the codec overrides the type's name, tricky kinds survive, and an
// anonymous struct type is stored without the envelope.
func TestJSONKind(t *testing.T) {
	var codec etcd.JSON
	b, err := codec.Encode(&Node{Spec: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"controlloop.kind":"Node","object":{"name":"","spec":"n"}}`; string(b) != want {
		t.Errorf("Encode(*Node) = %s, want %s", b, want)
	}
	var p Pod
	if err := codec.Decode(b, &p); !errors.Is(err, etcd.ErrKind) {
		t.Errorf("Decode of a Node into a Pod: %v (%+v), want ErrKind", err, p)
	}
	var n Node
	if err := codec.Decode(b, &n); err != nil || n.Spec != "n" {
		t.Errorf("Decode of a Node into a Node: %v (%+v)", err, n)
	}
	for _, kind := range []string{"Pod", `a","object":{}`, `back\`, "ü", `"`} {
		c := etcd.JSON{Kind: kind}
		b, err := c.Encode(&Node{Spec: "n"})
		if err != nil {
			t.Fatalf("Kind %q: %v", kind, err)
		}
		var n Node
		if err := c.Decode(b, &n); err != nil || n.Spec != "n" {
			t.Errorf("Kind %q: Decode(%s) = %+v, %v", kind, b, n, err)
		}
		if err := (etcd.JSON{Kind: kind + "x"}).Decode(b, &n); !errors.Is(err, etcd.ErrKind) {
			t.Errorf("Kind %q: Decode(%s) as kind %qx: %v, want ErrKind", kind, b, kind, err)
		}
	}
	if _, err := (etcd.JSON{Kind: "\xff"}).Encode(&Node{}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("Kind not UTF-8: %v, want ErrInvalid", err)
	}
	anon := &struct{ A int }{A: 1}
	if b, err := codec.Encode(anon); err != nil || string(b) != `{"A":1}` {
		t.Errorf("Encode of an anonymous struct = %s, %v; want plain JSON", b, err)
	}
}

// TestJSONReadsValuesWithoutKind (issue 13, item 5): values stored before
// the codec had its envelope (plain JSON of the object) still decode, of
// any kind, through the codec and through a Source.
func TestJSONReadsValuesWithoutKind(t *testing.T) {
	old := `{"name":"a","labels":{"app":"web"},"generation":3,"spec":"s"}`
	var p Pod
	if err := (etcd.JSON{}).Decode([]byte(old), &p); err != nil || p.Spec != "s" || p.Labels["app"] != "web" || p.Generation != 3 {
		t.Errorf("Decode(%s) = %+v, %v", old, p, err)
	}
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	if _, err := e.client.Put(ctx, e.src.Prefix()+"/ns/a", old); err != nil {
		t.Fatal(err)
	}
	got, err := e.src.Get(ctx, controlloop.Key{Namespace: "ns", Name: "a"})
	if err != nil || got.Spec != "s" || got.Generation != 3 {
		t.Fatalf("Get of a value without kind: %+v, %v", got, err)
	}
	got.Spec = "t"
	if _, err := e.src.Update(ctx, got); err != nil {
		t.Fatalf("Update of a value without kind: %v", err)
	}
	resp, err := e.client.Get(ctx, e.src.Prefix()+"/ns/a")
	if err != nil {
		t.Fatal(err)
	}
	if v := string(resp.Kvs[0].Value); !strings.HasPrefix(v, `{"controlloop.kind":"Pod",`) {
		t.Errorf("rewritten value %s, want the envelope", v)
	}
}

// Rich is an object with the fields the package documentation's "Round
// trips" names.
type Rich struct {
	controlloop.ObjectMeta
	Public  string         `json:"public"`
	private string         // read back, to show that it is not stored
	Tags    map[string]int `json:"tags,omitempty"`
	When    time.Time      `json:"when"`
	A, B    *string
	F       float64 `json:"f"`
}

// TestRoundTripLimits backs the package documentation's "Round trips"
// through a Source (issue 13, "One contract, every backend"): what
// encoding/json cannot carry is lost or refused, as documented, and the
// rest survives.
func TestRoundTripLimits(t *testing.T) {
	e := newEnv(t, etcdtest.Options{})
	ctx := testContext(t, 30*time.Second)
	src, err := etcd.New[*Rich](e.client, etcd.Options{Prefix: e.src.Prefix() + "-rich"})
	if err != nil {
		t.Fatal(err)
	}
	shared := "s"
	when := time.Date(2026, 12, 1, 12, 0, 0, 5, time.FixedZone("XST", 3600))
	in := &Rich{
		ObjectMeta: controlloop.ObjectMeta{Name: "a", Labels: map[string]string{}, OwnerReferences: []controlloop.OwnerReference{}},
		Public:     "p", private: "x", Tags: map[string]int{}, When: when, A: &shared, B: &shared,
	}
	if _, err := src.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	out, err := src.Get(ctx, controlloop.Key{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Public != "p" || out.private != "" {
		t.Errorf("exported field %q, unexported %q; want p and nothing", out.Public, out.private)
	}
	if out.Labels != nil || out.OwnerReferences != nil || out.Tags != nil {
		t.Errorf("empty maps and slices tagged omitempty read back as %#v %#v %#v, want nil", out.Labels, out.OwnerReferences, out.Tags)
	}
	if !out.When.Equal(when) || out.When.Location().String() == "XST" {
		t.Errorf("time read back as %v: want the same instant, not the zone's name", out.When)
	}
	if _, off := out.When.Zone(); off != 3600 {
		t.Errorf("time read back with offset %d, want 3600", off)
	}
	if *out.A != "s" || *out.B != "s" || out.A == out.B {
		t.Errorf("shared pointer read back as %p %p, want two copies of %q", out.A, out.B, shared)
	}
	for name, bad := range map[string]*Rich{
		"NaN":   {ObjectMeta: controlloop.ObjectMeta{Name: "n"}, F: math.NaN()},
		"+Inf":  {ObjectMeta: controlloop.ObjectMeta{Name: "i"}, F: math.Inf(1)},
		"UTF-8": {ObjectMeta: controlloop.ObjectMeta{Name: "u"}, Public: "\xff"},
	} {
		if _, err := src.Create(ctx, bad); !errors.Is(err, controlloop.ErrInvalid) {
			t.Errorf("%s: Create: %v, want ErrInvalid", name, err)
		}
	}
	// A channel field, even nil, makes every write fail.
	chans, err := etcd.New[*WithChan](e.client, etcd.Options{Prefix: e.src.Prefix() + "-chan"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chans.Create(ctx, &WithChan{ObjectMeta: controlloop.ObjectMeta{Name: "c"}}); !errors.Is(err, controlloop.ErrInvalid) {
		t.Errorf("chan: Create: %v, want ErrInvalid", err)
	}
}

// WithChan is an object with a channel field, which encoding/json refuses.
type WithChan struct {
	controlloop.ObjectMeta
	Ch chan int `json:"ch,omitempty"`
}
