package shard

import (
	"hash/fnv"
	"math/bits"
)

// SlotOf returns the slot of a shard key among slots slots: a 64-bit hash of
// the key, modulo slots. It panics if slots is not positive.
func SlotOf(key string, slots int) int {
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(mix(h.Sum64()) % uint64(slots))
}

// Owner returns the member that rendezvous (highest random weight) hashing
// gives slot: the member whose score for the slot is highest, ties broken
// by the smaller ID. It returns "" for no members.
//
// Since each member's score for a slot depends only on the two of them,
// adding a member moves to it exactly the slots it now scores highest on,
// and removing one moves only its own slots, each to the runner-up.
func Owner(slot int, members []string) string {
	best, bestScore := "", uint64(0)
	for _, m := range members {
		s := score(memberHash(m), slot)
		if best == "" || s > bestScore || (s == bestScore && m < best) {
			best, bestScore = m, s
		}
	}
	return best
}

// assignment is the desired owner of every slot for one member set.
func assignment(slots int, members []string) []string {
	hashes := make([]uint64, len(members))
	for i, m := range members {
		hashes[i] = memberHash(m)
	}
	owners := make([]string, slots)
	for slot := range owners {
		best, bestScore := -1, uint64(0)
		for i, h := range hashes {
			s := score(h, slot)
			if best < 0 || s > bestScore || (s == bestScore && members[i] < members[best]) {
				best, bestScore = i, s
			}
		}
		if best >= 0 {
			owners[slot] = members[best]
		}
	}
	return owners
}

// memberHash hashes a member ID with its length first, so that IDs that are
// prefixes of each other hash apart as well as any other two.
func memberHash(id string) uint64 {
	h := fnv.New64a()
	var n [8]byte
	for i := range n {
		n[i] = byte(len(id) >> (8 * i))
	}
	h.Write(n[:])
	h.Write([]byte(id))
	return mix(h.Sum64())
}

// score is a member's weight for a slot.
func score(member uint64, slot int) uint64 {
	return mix(member ^ bits.RotateLeft64(uint64(slot)*0x9e3779b97f4a7c15, 31))
}

// mix is the splitmix64 finaliser: it spreads every input bit over the
// whole output, which FNV alone does poorly in the low bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
