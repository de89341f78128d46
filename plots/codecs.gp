# Speed against ratio for one payload, compress or decompress, with the Pareto
# front. Variables: data, out, title, which ("compress" or "decompress").
# Data blocks: 0 every codec; 1 the compress front; 2 the decompress front.
# Column 2 (family): 0 none (ceiling), 1 gzip-compatible, 2 needs a new
# cas_version, 3 unknown.
load "common.gp"
col = (which eq "compress") ? 4 : 5
front = (which eq "compress") ? 1 : 2
set logscale x
set xlabel which." throughput (MB/s of pickled bytes, log scale)"
set ylabel "compression ratio (pickled / compressed)"
set title title.": ".which." speed vs ratio"
set key bottom left box opaque
set offsets graph 0.05, graph 0.15, graph 0.08, graph 0.05
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1000,620 font "sans,10" noenhanced } \
  else { set terminal svg size 1000,620 font "sans,10" noenhanced }
  set output out.".".fmt.".tmp"
  plot data index front using col:3 every ::1 with lines dt 2 lw 2 lc rgb "#888888" title "Pareto front", \
       data index 0 using ($2 == 1 ? column(col) : 1/0):3 every ::1 with points pt 7 ps 1.6 lc rgb "#2a7ab0" title "gzip stream: today's metaflow reads it", \
       data index 0 using ($2 == 2 ? column(col) : 1/0):3 every ::1 with points pt 9 ps 1.8 lc rgb "#d1495b" title "needs a new cas_version (lz4, zstd)", \
       data index 0 using ($2 == 0 ? column(col) : 1/0):3 every ::1 with points pt 6 ps 1.6 lc rgb "#444444" title "none: ceiling, not a codec", \
       data index 0 using ($2 == 3 ? column(col) : 1/0):3 every ::1 with points pt 5 ps 1.4 lc rgb "#999999" title (unknown > 0 ? "unknown codec" : ""), \
       data index 0 using col:3:1 every ::1 with labels offset 0.6,0.7 left font ",8" notitle
  set output
}
