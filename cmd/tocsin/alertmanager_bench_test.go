package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-relay/tocsin/internal/testnet"
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
	addr := testnet.Addr(tb)
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
	elapsed, failed := postConcurrently(clients, total, http.StatusOK, func(i int64) *http.Request {
		body := fmt.Sprintf(`[{"labels":{"alertname":"SensorOutOfRange","service":"press-line-1","key":"bench-%d"},"annotations":{"summary":"sensor %d out of range"}}]`, i, i)
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/v2/alerts", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return req
	})
	if failed > 0 {
		return 0, errors.New(fmt.Sprint(failed, " of ", total, " alerts refused by alertmanager"))
	}
	return float64(total) / elapsed.Seconds(), nil
}
