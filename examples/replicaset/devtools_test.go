//go:build unix

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// devTools is a minimal client of Chromium's DevTools protocol: one
// page's WebSocket, written by hand (RFC 6455 text frames, client-masked)
// so that the test needs no dependency.
type devTools struct {
	conn net.Conn
	r    *bufio.Reader
	id   int
}

// openDevTools starts headless chromium on pageURL with remote debugging
// on a free port and connects to the page. The browser stops with the
// test.
func openDevTools(t *testing.T, browser, pageURL string) *devTools {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := chromiumCommand(t, ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--remote-debugging-port=0", "--window-size=1400,1000", pageURL)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	// Chromium says where it listens: "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
	lines := bufio.NewScanner(stderr)
	var host string
	for lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), "DevTools listening on ws://"); ok {
			host, _, _ = strings.Cut(rest, "/")
			break
		}
	}
	if host == "" {
		t.Fatal("chromium never said where DevTools listen")
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()

	var pages []struct{ Type, URL, WebSocketDebuggerURL string }
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get("http://" + host + "/json/list")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&pages)
			resp.Body.Close()
		}
		for _, p := range pages {
			if p.Type == "page" && strings.HasPrefix(p.URL, pageURL) {
				return dialDevTools(t, p.WebSocketDebuggerURL)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no DevTools page for %s (%v): %+v", pageURL, err, pages)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func dialDevTools(t *testing.T, wsURL string) *devTools {
	t.Helper()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, base64.StdEncoding.EncodeToString(key))
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("WebSocket handshake with DevTools: %v %v", resp, err)
	}
	return &devTools{conn: conn, r: r}
}

// send writes one masked text frame.
func (d *devTools) send(payload []byte) error {
	header := []byte{0x81} // FIN, text
	switch n := len(payload); {
	case n < 126:
		header = append(header, 0x80|byte(n))
	case n < 1<<16:
		header = append(header, 0x80|126, byte(n>>8), byte(n))
	default:
		header = append(header, 0x80|127)
		header = binary.BigEndian.AppendUint64(header, uint64(n))
	}
	mask := make([]byte, 4)
	_, _ = rand.Read(mask)
	masked := make([]byte, len(payload))
	for i, b := range payload {
		masked[i] = b ^ mask[i%4]
	}
	_, err := d.conn.Write(append(append(header, mask...), masked...))
	return err
}

// receive reads one message, joining continuation frames; control frames
// are skipped.
func (d *devTools) receive() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(d.r, h[:]); err != nil {
			return nil, err
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(d.r, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(d.r, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(d.r, payload); err != nil {
			return nil, err
		}
		if opcode := h[0] & 0x0f; opcode >= 0x8 {
			continue // close, ping, pong
		}
		msg = append(msg, payload...)
		if h[0]&0x80 != 0 {
			return msg, nil
		}
	}
}

// evaluate runs an async JavaScript expression in the page, once the
// page at pageURL has loaded, and returns the string it resolves to. (The
// tab starts on about:blank: an evaluation there is destroyed when the
// navigation to pageURL commits.)
func (d *devTools) evaluate(t *testing.T, pageURL, expr string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		state, err := d.tryEvaluate(`(async () => document.readyState + " " + location.href)()`)
		if err == nil && strings.HasPrefix(state, "complete "+pageURL) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not load: %q, %v", state, err)
		}
	}
	s, err := d.tryEvaluate(expr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (d *devTools) tryEvaluate(expr string) (string, error) {
	d.id++
	req, _ := json.Marshal(map[string]any{"id": d.id, "method": "Runtime.evaluate", "params": map[string]any{
		"expression": expr, "awaitPromise": true, "returnByValue": true,
	}})
	_ = d.conn.SetDeadline(time.Now().Add(time.Minute))
	if err := d.send(req); err != nil {
		return "", err
	}
	for {
		msg, err := d.receive()
		if err != nil {
			return "", fmt.Errorf("DevTools: %w", err)
		}
		var reply struct {
			ID     int `json:"id"`
			Result struct {
				Result           struct{ Value any }
				ExceptionDetails any
			}
			Error any
		}
		if err := json.Unmarshal(msg, &reply); err != nil || reply.ID != d.id {
			continue // an event, or another reply
		}
		if reply.Error != nil || reply.Result.ExceptionDetails != nil {
			return "", fmt.Errorf("Runtime.evaluate failed: %v %v", reply.Error, reply.Result.ExceptionDetails)
		}
		s, _ := reply.Result.Result.Value.(string)
		return s, nil
	}
}
