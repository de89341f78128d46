# Save + upload time against bandwidth for one payload, one line per codec.
# Variables: data, out, title, names (the codecs, in the data's block order).
# gzip:3, the baseline of the break-even table, is drawn thick.
load "common.gp"
set logscale xy
set xlabel "upload bandwidth (MB/s, log scale)"
set ylabel "save CPU time + compressed bytes / bandwidth (ms, log scale)"
set title "Save + upload: ".title
set key outside right top
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1100,620 font "sans,10" noenhanced } \
  else { set terminal svg size 1100,620 font "sans,10" noenhanced }
  set output out.".".fmt.".tmp"
  plot for [i=1:words(names)] data index (i-1) using 1:2 every ::1 with linespoints lw (word(names, i) eq "gzip:3" ? 5 : 2) pt i pi 10 title word(names, i)
  set output
}
