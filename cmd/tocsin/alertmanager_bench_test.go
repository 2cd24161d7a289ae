package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// alertmanagerBin is Debian's prometheus-alertmanager (.ci/packages.txt).
const alertmanagerBin = "/usr/bin/prometheus-alertmanager"

// alertmanagerIngest starts Prometheus Alertmanager with a receiver that
// sends nothing and posts total alerts with unique labels to its POST
// /api/v2/alerts from clients concurrent senders, the load
// BenchmarkHTTPIngest puts on Tocsin. Alertmanager keeps alerts in memory
// (its snapshot to disk is periodic), so this is the rate of an intake that
// does not wait for the disk. It returns alerts per second.
func alertmanagerIngest(tb testing.TB, total, clients int) (float64, error) {
	if _, err := os.Stat(alertmanagerBin); err != nil {
		return 0, fmt.Errorf("%s absent (apt-get install prometheus-alertmanager)", alertmanagerBin)
	}
	dir := tb.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte("route:\n  receiver: none\nreceivers:\n  - name: none\n"), 0o600); err != nil {
		return 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(alertmanagerBin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	ready := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ready = true
				break
			}
		}
	}
	if !ready {
		return 0, fmt.Errorf("alertmanager not ready after 30 s: %s", stderr.String())
	}
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	var (
		next, failed atomic.Int64
		wg           sync.WaitGroup
	)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				body := fmt.Sprintf(`[{"labels":{"alertname":"SensorOutOfRange","service":"press-line-1","key":"bench-%d"},"annotations":{"summary":"sensor %d out of range"}}]`, i, i)
				resp, err := client.Post("http://"+addr+"/api/v2/alerts", "application/json", strings.NewReader(body))
				if err != nil {
					failed.Add(1)
					continue
				}
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				io.Copy(io.Discard, resp.Body) // read to the end, so the connection is reused
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failed.Load(); f > 0 {
		return 0, errors.New(fmt.Sprint(f, " of ", total, " alerts refused by alertmanager"))
	}
	return float64(total) / elapsed.Seconds(), nil
}
