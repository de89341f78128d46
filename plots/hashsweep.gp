# Hash throughput against input size, log-log, one line per hash.
# Variables: data, out, names (the hashes, in the data's block order).
load "common.gp"
set logscale xy
set xtics ("64 B" 64, "1 KiB" 1024, "16 KiB" 16384, "256 KiB" 262144, "4 MiB" 4194304, "64 MiB" 67108864)
set autoscale xfix
set offsets graph 0.02, graph 0.02, 0, 0
set xlabel "input size (log scale)"
set ylabel "throughput (MB/s, log scale)"
set title "Hash throughput by input size"
set key top left
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1000,600 font "sans,10" noenhanced } \
  else { set terminal svg size 1000,600 font "sans,10" noenhanced }
  set output out.".".fmt.".tmp"
  plot for [i=1:words(names)] data index (i-1) using 1:2 every ::1 with linespoints lw 2 pt (i+3) title word(names, i)
  set output
}
