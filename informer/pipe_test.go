package informer

import (
	"testing"
	"testing/synctest"
)

// A full pipe makes push wait until take makes room; close releases both
// sides and drops what push is given afterwards.
func TestPipeBoundsAndCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPipe[int]()
		for i := range pipeCap {
			p.push(change[int]{n: notification[int]{obj: i}})
		}
		pushed := make(chan struct{})
		go func() {
			p.push(change[int]{n: notification[int]{obj: pipeCap}})
			close(pushed)
		}()
		synctest.Wait()
		select {
		case <-pushed:
			t.Fatal("push into a full pipe did not wait")
		default:
		}
		batch := p.take(nil)
		if len(batch) != pipeCap || batch[0].n.obj != 0 || batch[pipeCap-1].n.obj != pipeCap-1 {
			t.Fatalf("first batch: %d changes, want %d in order", len(batch), pipeCap)
		}
		<-pushed
		if batch = p.take(batch); len(batch) != 1 || batch[0].n.obj != pipeCap {
			t.Fatalf("second batch = %v, want the waiting change", batch)
		}

		taken := make(chan []change[int])
		go func() { taken <- p.take(batch) }()
		synctest.Wait()
		p.close()
		if b := <-taken; b != nil {
			t.Fatalf("take after close = %v, want nil", b)
		}
		p.push(change[int]{})
		if b := p.take(nil); b != nil {
			t.Fatalf("a push after close was kept: %v", b)
		}
	})
}
