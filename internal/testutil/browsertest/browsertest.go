// Package browsertest drives headless Chromium (Debian's `chromium`) for
// tests of the pages Vigil serves: load a page, fill and submit its forms
// as a user would, read the DOM, keep a screenshot.
//
// It speaks the Chrome DevTools Protocol over a WebSocket
// (golang.org/x/net/websocket, already in the module graph). The five
// commands it needs are written here, by hand, rather than taken from a
// CDP client library (chromedp and its generated protocol packages), a new
// dependency tree larger than the tests it would serve.
package browsertest // import "github.com/vigil-otel/vigil/internal/testutil/browsertest"

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// Binary is the browser the tests run; Debian's package installs it there.
const Binary = "chromium"

// installHint says how to get the browser, for a test that finds none.
const installHint = "install it with `apt-get install -y chromium` (scripts/install-test-deps.sh does)"

// Flags are the launch flags: headless, no sandbox (tests run as root in
// CI), nothing that reaches the network on its own, and a fresh profile.
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-allow-origins=http://127.0.0.1",
}

// Browser is one headless Chromium with one page.
type Browser struct {
	t      testing.TB
	cmd    *exec.Cmd
	ws     *websocket.Conn
	mu     sync.Mutex
	nextID int
	// replies carries the answers to commands by id; events carries
	// protocol events by method.
	replies map[int]chan message
	events  chan message
	done    chan struct{}
}

type message struct {
	ID     int             `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Start launches the browser with a page of width×height CSS pixels; it
// quits when the test ends. A missing browser fails the test with how to
// install it.
func Start(t testing.TB, width, height int) *Browser {
	t.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		t.Fatalf("headless Chromium not found (%v): %s", err, installHint)
	}
	args := append(append([]string(nil), Flags...),
		"--user-data-dir="+t.TempDir(), fmt.Sprintf("--window-size=%d,%d", width, height), "about:blank")
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	b := &Browser{t: t, cmd: cmd, replies: map[int]chan message{}, events: make(chan message, 256), done: make(chan struct{})}
	t.Cleanup(b.close)
	browserURL, err := devToolsURL(stderr, 30*time.Second)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	pageURL, err := pageTarget(browserURL)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if b.ws, err = websocket.Dial(pageURL, "", "http://127.0.0.1"); err != nil {
		t.Fatalf("chromium: connecting to the page: %v", err)
	}
	b.ws.MaxPayloadBytes = 64 << 20
	go b.read()
	if _, err := b.call("Page.enable", nil); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return b
}

// devToolsURL reads the browser's WebSocket URL from its log, and keeps
// draining the log so the browser never blocks on it.
func devToolsURL(stderr io.Reader, timeout time.Duration) (string, error) {
	found := make(chan string, 1)
	var logged strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			logged.WriteString(line + "\n")
			mu.Unlock()
			if u, ok := strings.CutPrefix(line, "DevTools listening on "); ok {
				found <- strings.TrimSpace(u)
			}
		}
	}()
	select {
	case u := <-found:
		return u, nil
	case <-time.After(timeout):
		mu.Lock()
		defer mu.Unlock()
		return "", fmt.Errorf("no DevTools URL within %s; its log:\n%s", timeout, logged.String())
	}
}

// pageTarget returns the WebSocket URL of the browser's first page.
func pageTarget(browserURL string) (string, error) {
	host := strings.TrimPrefix(browserURL, "ws://")
	host = host[:strings.Index(host, "/")]
	resp, err := http.Get("http://" + host + "/json/list")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var targets []struct{ Type, WebSocketDebuggerURL string }
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
		return "", fmt.Errorf("reading the targets: %w", err)
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			return tg.WebSocketDebuggerURL, nil
		}
	}
	return "", errors.New("the browser has no page")
}

func (b *Browser) read() {
	defer close(b.done)
	for {
		var m message
		if err := websocket.JSON.Receive(b.ws, &m); err != nil {
			return
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.replies[m.ID]
			delete(b.replies, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case b.events <- m:
		default: // nobody waits for these
		}
	}
}

// call sends a command and waits for its answer.
func (b *Browser) call(method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan message, 1)
	b.replies[id] = ch
	b.mu.Unlock()
	req := map[string]any{"id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	if err := websocket.JSON.Send(b.ws, req); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		return m.Result, nil
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("%s: no answer within 60s", method)
	case <-b.done:
		return nil, fmt.Errorf("%s: the browser went away", method)
	}
}

// drainEvents forgets events so far, before an action whose events count.
func (b *Browser) drainEvents() {
	for {
		select {
		case <-b.events:
		default:
			return
		}
	}
}

// waitLoad waits for the page's load event.
func (b *Browser) waitLoad(ctx context.Context) error {
	for {
		select {
		case m := <-b.events:
			if m.Method == "Page.loadEventFired" {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for the page to load: %w", ctx.Err())
		}
	}
}

// Navigate loads url and waits until it has loaded.
func (b *Browser) Navigate(ctx context.Context, url string) error {
	b.drainEvents()
	res, err := b.call("Page.navigate", map[string]any{"url": url})
	if err != nil {
		return err
	}
	var nav struct{ ErrorText string }
	if err := json.Unmarshal(res, &nav); err == nil && nav.ErrorText != "" {
		return fmt.Errorf("navigating to %s: %s", url, nav.ErrorText)
	}
	return b.waitLoad(ctx)
}

// Eval runs a JavaScript expression in the page and returns its value as
// JSON.
func (b *Browser) Eval(expr string) (json.RawMessage, error) {
	res, err := b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		return nil, err
	}
	var out struct {
		Result           struct{ Value json.RawMessage }
		ExceptionDetails *struct{ Text string }
	}
	if err := json.Unmarshal(res, &out); err != nil {
		return nil, err
	}
	if out.ExceptionDetails != nil {
		return nil, fmt.Errorf("evaluating %q: %s", expr, out.ExceptionDetails.Text)
	}
	return out.Result.Value, nil
}

// Submit runs a script that submits a form (or clicks a button that
// does) and waits for the page it leads to.
func (b *Browser) Submit(ctx context.Context, script string) error {
	b.drainEvents()
	if _, err := b.Eval(script); err != nil {
		return err
	}
	return b.waitLoad(ctx)
}

// DOM returns the page's current DOM as HTML.
func (b *Browser) DOM() (string, error) {
	v, err := b.Eval("document.documentElement.outerHTML")
	if err != nil {
		return "", err
	}
	var s string
	return s, json.Unmarshal(v, &s)
}

// Screenshot writes a PNG of the whole page to path.
func (b *Browser) Screenshot(path string) error {
	res, err := b.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true})
	if err != nil {
		return err
	}
	var shot struct{ Data string }
	if err := json.Unmarshal(res, &shot); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// SetViewport emulates a device of width×height CSS pixels, as a phone
// when mobile.
func (b *Browser) SetViewport(width, height int, mobile bool) error {
	_, err := b.call("Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
	})
	return err
}

func (b *Browser) close() {
	if b.ws != nil {
		_, _ = b.call("Browser.close", nil)
		_ = b.ws.Close()
		<-b.done
	}
	if b.cmd.Process != nil {
		timer := time.AfterFunc(10*time.Second, func() { _ = b.cmd.Process.Kill() })
		_ = b.cmd.Wait()
		timer.Stop()
	}
}
