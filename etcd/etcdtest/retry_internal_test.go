package etcdtest

import (
	"net"
	"strconv"
	"testing"
	"time"
)

// TestStartRetriesFromEmptyData: when a new cluster's start fails because
// a peer port picked free was taken meanwhile, the members that formed a
// quorum in that attempt have stored a membership naming the old ports;
// the next attempt must start them from empty data on the new ports, or
// they wait for peers that are not there until Start times out.
func TestStartRetriesFromEmptyData(t *testing.T) {
	kinds := []struct {
		name   string
		binary func(testing.TB) string
	}{
		{"embedded", func(testing.TB) string { return "" }},
		{"external", Binary},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			s, err := New(Options{Binary: k.binary(t), Members: 3, StartTimeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer taken.Close()
			_, port, _ := net.SplitHostPort(taken.Addr().String())
			s.members[1].peerPort, _ = strconv.Atoi(port)
			if err := s.Start(t.Context()); err != nil {
				t.Fatalf("Start after a taken peer port: %v", err)
			}
			if strconv.Itoa(s.members[1].peerPort) == port {
				t.Errorf("member m1 kept the taken peer port %s", port)
			}
		})
	}
}
