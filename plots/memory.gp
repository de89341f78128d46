# Peak extra memory of a save against the pickle's size, one line per save
# variant. Variables: data, out, title, names (the variants, in block order).
load "common.gp"
set logscale xy
set xlabel "pickle size (MiB, log scale)"
set ylabel "peak extra memory of one save (MiB, log scale)"
set title "Memory of a save: weights, ".title
set key outside right top
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1100,620 font "sans,10" noenhanced } \
  else { set terminal svg size 1100,620 font "sans,10" noenhanced }
  set output out.".".fmt.".tmp"
  plot for [i=1:words(names)] data index (i-1) using 1:2 every ::1 with linespoints pt i title word(names, i)
  set output
}
