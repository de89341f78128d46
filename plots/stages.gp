# Stacked bars: the save path's stages (pickle, hash, compress medians) for one
# payload, one bar per codec+hash. Variables: data, out, title.
load "common.gp"
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.7
set key top left
set key autotitle columnheader
set ylabel "median time (ms)"
set title "Save path by stage: ".title." (pickle + hash + compress)"
set xtics rotate by -35 left
set grid noxtics
set bmargin 7
set rmargin 10
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1100,600 font "sans,10" noenhanced } \
  else { set terminal svg size 1100,600 font "sans,10" noenhanced }
  set output out.".".fmt.".tmp"
  plot data using 2:xtic(1) title "pickle" lc rgb "#4c72b0" lw 1, \
       '' using 3 title "hash" lc rgb "#dd8452" lw 1, \
       '' using 4 title "compress" lc rgb "#55a868" lw 1
  set output
}
