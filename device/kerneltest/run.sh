#!/usr/bin/env bash
# Kernel-level GPIO test (`make test-kernel`): boots Debian's own kernel under
# QEMU with the kernel's gpio-sim driver and runs the device package's tests
# inside it against real /dev/gpiochip lines through periph's gpioioctl.
#
# Debian's 6.1 kernel is built without gpio-sim ("# CONFIG_GPIO_SIM is not
# set", no IRQ_SIM), so gpio-sim.c and kernel/irq/irq_sim.c are taken from the
# matching linux-source package and built out of tree as one module against
# linux-headers. linux-image-amd64, linux-headers-amd64 and linux-source-6.1
# come from the same source package, so their versions match.
#
# The guest is a busybox initramfs: /init mounts proc, sysfs, devtmpfs,
# debugfs and configfs, loads configfs.ko and gpio-sim.ko, runs the static
# test binaries and prints TOCSIN_KERNELTEST_EXIT=<status>; pass/fail is read
# from the console log. TCG (software emulation) is used by default: nested
# KVM is not reliable on CI machines, and TCG boots and tests in seconds.
#
# Env: WORK (default /tmp/tocsin-kerneltest), ACCEL (tcg | kvm),
#      KEEP_GOING=1 to skip the package check (offline re-runs).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-/tmp/tocsin-kerneltest}
ACCEL=${ACCEL:-tcg}
mkdir -p "$WORK"
t0=$(date +%s)

# --- 1. Packages. --------------------------------------------------------------
pkgs=(linux-image-amd64 linux-headers-amd64 linux-source-6.1 qemu-system-x86 busybox-static cpio make gcc xz-utils)
need=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
  echo "kerneltest: installing ${need[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null
fi

# The newest kernel that has both an image and headers installed.
KVER=""
for d in $(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V); do
  v=${d#/usr/src/linux-headers-}
  [ -f "/boot/vmlinuz-$v" ] && [ -d "/lib/modules/$v" ] && KVER=$v
done
[ -n "$KVER" ] || { echo "kerneltest: no kernel with matching headers installed" >&2; exit 1; }
VMLINUZ=/boot/vmlinuz-$KVER
KDIR=/usr/src/linux-headers-$KVER
SRC=$(ls /usr/src/linux-source-*.tar.xz | sort -V | tail -1)
echo "kerneltest: kernel $KVER, source $(basename "$SRC")"
if ! grep -q '^CONFIG_GPIO_CDEV=y' "/boot/config-$KVER"; then
  echo "kerneltest: kernel $KVER has no GPIO character device" >&2; exit 1
fi

# --- 2. gpio-sim.ko, out of tree (cached per kernel). ------------------------------
MOD=$WORK/gpio-sim-$KVER
if [ ! -f "$MOD/gpio-sim.ko" ]; then
  rm -rf "$MOD"; mkdir -p "$MOD"
  top=$(basename "$SRC" .tar.xz)
  tar -xJf "$SRC" -C "$MOD" --strip-components=3 \
    "$top/drivers/gpio/gpio-sim.c" "$top/drivers/gpio/gpiolib.h" "$top/kernel/irq/irq_sim.c"
  mv "$MOD/gpio-sim.c" "$MOD/gpio-sim-core.c"
  # irq_to_desc() is not exported to modules; generic_handle_irq() is and
  # does the same for a simple irq.
  sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$MOD/irq_sim.c"
  grep -q 'generic_handle_irq(irqnum)' "$MOD/irq_sim.c" || { echo "kerneltest: irq_sim.c patch did not apply" >&2; exit 1; }
  printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-core.o irq_sim.o\n' > "$MOD/Makefile"
  make -s -C "$KDIR" M="$MOD" modules >"$MOD/build.log" 2>&1 || { cat "$MOD/build.log"; exit 1; }
fi

# --- 3. Static test binaries (the guest has no C library). -------------------------
# kerneltest runs the engine on SQLite (cgo), so it is linked statically;
# glibc's warnings about dlopen/getaddrinfo in static binaries do not apply
# (neither is used) and are shown only if the build fails.
( cd "$REPO" &&
  if ! CGO_ENABLED=1 go test -c -o "$WORK/kerneltest.test" \
       -ldflags '-linkmode external -extldflags "-static"' ./device/kerneltest >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log" >&2; exit 1
  fi &&
  CGO_ENABLED=0 go test -c -o "$WORK/device.test" ./device )

# --- 4. initramfs. ------------------------------------------------------------------
ROOT=$WORK/root
rm -rf "$ROOT"; mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,lib/modules}
cp "$(command -v busybox)" "$ROOT/bin/busybox"
cp "/lib/modules/$KVER/kernel/fs/configfs/configfs.ko" "$ROOT/lib/modules/"
cp "$MOD/gpio-sim.ko" "$ROOT/lib/modules/"
cp "$WORK/kerneltest.test" "$WORK/device.test" "$ROOT/"
cat > "$ROOT/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/tmp TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
ip link set lo up   # the tower tests talk to a fake tower on loopback
insmod /lib/modules/configfs.ko
mount -t configfs configfs /sys/kernel/config
insmod /lib/modules/gpio-sim.ko
echo "=== tocsin kerneltest: gpio-sim loaded"
status=0
TOCSIN_KERNEL_TEST=1 /kerneltest.test -test.v -test.count=1 -test.timeout=120s || status=1
/device.test -test.count=1 -test.timeout=120s || status=1
echo "=== TOCSIN_KERNELTEST_EXIT=$status"
poweroff -f
INIT
chmod +x "$ROOT/init"
( cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1 ) > "$WORK/initrd.cpio.gz"

# --- 5. Boot. -----------------------------------------------------------------------
LOG=$WORK/console.log
echo "kerneltest: booting $KVER under qemu (accel=$ACCEL)"
b0=$(date +%s)
timeout 300 qemu-system-x86_64 -machine q35,accel="$ACCEL" -cpu max -smp 1 -m 512 \
  -kernel "$VMLINUZ" -initrd "$WORK/initrd.cpio.gz" \
  -append "console=ttyS0 panic=-1 loglevel=4" \
  -nographic -no-reboot -nic none </dev/null >"$LOG" 2>&1 || true
b1=$(date +%s)
sed -n '/=== tocsin kerneltest/,$p' "$LOG"
echo "kerneltest: boot+test $((b1 - b0)) s, total $((b1 - t0)) s"
if grep -q '=== TOCSIN_KERNELTEST_EXIT=0' "$LOG"; then
  echo "kerneltest: PASS"
  exit 0
fi
echo "kerneltest: FAIL (console log: $LOG)" >&2
tail -40 "$LOG" >&2
exit 1
