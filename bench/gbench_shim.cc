// gbench_shim.cc - see gbench.h. The only C++ in casbench: it exists because
// Google Benchmark's interface is C++.
#include "gbench.h"

#include "atomic.h"

#include <benchmark/benchmark.h>

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sys/resource.h>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;
bool g_initialised = false;
// gbench.json = context (ends with the opening of "benchmarks") + entries + tail.
std::string g_context;
std::string g_entries;
// Entries of the round being run (gb_run_batch with keep): committed to
// g_entries or dropped by gb_json_round_end.
std::vector<std::string> g_round_entries;
const char kBenchmarksOpen[] = "\"benchmarks\": [\n";
const char kTail[] = "\n  ]\n}\n";

int set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

// Google Benchmark's JSONReporter, with its three parts sent to three streams:
// the context (kept from the first run only), the benchmark entries (appended
// to gbench.json), and the closing brackets (written once, by gb_json_write).
// The Run objects are kept too: they are what gb_run reads its numbers from.
class CaptureReporter : public benchmark::JSONReporter {
  public:
    std::ostringstream context, entries, tail;
    std::vector<Run> runs;

    bool ReportContext(const Context &c) override
    {
        SetOutputStream(&context);
        bool ok = JSONReporter::ReportContext(c);
        SetOutputStream(&entries);
        return ok;
    }
    void ReportRuns(const std::vector<Run> &reports) override
    {
        runs.insert(runs.end(), reports.begin(), reports.end());
        JSONReporter::ReportRuns(reports);
    }
    void Finalize() override
    {
        SetOutputStream(&tail);
        JSONReporter::Finalize();
    }
};

// Google Benchmark 1.8 (Ubuntu 24.04) replaced Run::error_occurred and
// error_message (1.7, Debian 12) with skipped and skip_message, and wants a unit
// suffix on --benchmark_min_time (it logs a warning per benchmark without one,
// which 1.7 rejects). The shim builds against either.
template <typename R, typename = void>
struct has_error_occurred : std::false_type {};
template <typename R>
struct has_error_occurred<R, std::void_t<decltype(std::declval<R>().error_occurred)>> : std::true_type {};

using Run = benchmark::BenchmarkReporter::Run;
constexpr bool kGbench17 = has_error_occurred<Run>::value;

template <typename R>
bool run_failed(const R &r, std::string *message)
{
    if constexpr (has_error_occurred<R>::value) {
        *message = r.error_message;
        return r.error_occurred;
    } else {
        *message = r.skip_message;
        return r.skipped != 0;
    }
}

// The context object of a run that has not run anything yet.
std::string fresh_context()
{
    CaptureReporter r;
    benchmark::BenchmarkReporter::Context ctx;
    r.ReportContext(ctx);
    return r.context.str();
}

// Benchmark names go into JSON unescaped: keep them printable and quote-free.
std::string json_safe_name(const char *name)
{
    std::string s(name ? name : "unnamed");
    for (char &c : s)
        if (c == '"' || c == '\\' || (unsigned char)c < 0x20 || c == 0x7f)
            c = '_';
    return s;
}

}  // namespace

extern "C" {

int gb_init(const gb_options *opt, char *err, size_t errlen)
{
    if (opt->repetitions < 2 || opt->repetitions > GB_MAX_REPETITIONS)
        return set_err(err, errlen, "repetitions must be in 2..%d", GB_MAX_REPETITIONS);
    if (!(opt->min_time > 0))
        return set_err(err, errlen, "min time must be positive");
    std::string reps = "--benchmark_repetitions=" + std::to_string(opt->repetitions);
    char mt[64];
    snprintf(mt, sizeof mt, "--benchmark_min_time=%.9g%s", opt->min_time, kGbench17 ? "" : "s");
    std::string min_time = mt;
    // Google Benchmark keeps pointers into argv (the executable name).
    static std::vector<std::string> store;
    store = {"casbench", reps, min_time, "--benchmark_report_aggregates_only=false"};
    static std::vector<char *> argv;
    argv.clear();
    for (auto &s : store) argv.push_back(&s[0]);
    argv.push_back(nullptr);
    int argc = (int)store.size();
    benchmark::Initialize(&argc, argv.data());
    if (argc != 1)
        return set_err(err, errlen, "Google Benchmark rejected '%s'", argv[1]);
    g_initialised = true;
    return 0;
}

void gb_shutdown(void)
{
    if (g_initialised) benchmark::Shutdown();
    g_initialised = false;
}

void gb_request_stop(void) { g_stop = 1; }

void gb_add_context(const char *key, const char *value)
{
    benchmark::AddCustomContext(key, value);
}

}  // extern "C"

namespace {

// The process's minor page faults so far (all threads: an overlapped
// variant's worker faults for the cell too).
long minor_faults()
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : 0;
}

// Registers the measurement's benchmark (the timed loop knows nothing but
// the iteration function and the optional untimed step between iterations).
benchmark::internal::Benchmark *register_measurement(const gb_measurement *m)
{
    const gb_measurement mm = *m;
    return benchmark::RegisterBenchmark(json_safe_name(m->name).c_str(), [mm](benchmark::State &st) {
        // A stop request ends the measurement at the next run boundary; the
        // caller throws the partial measurement away.
        if (g_stop) {
            st.SkipWithError("interrupted");
            return;
        }
        if (mm.prepare) mm.prepare(mm.ctx);   // before the timed loop: untimed
        int failed = 0;
        const long faults_before = minor_faults();
        if (mm.between) {
            for (auto _ : st) {
                failed |= mm.run(mm.ctx);
                st.PauseTiming();
                mm.between(mm.ctx);
                st.ResumeTiming();
            }
        } else {
            for (auto _ : st)
                failed |= mm.run(mm.ctx);
        }
        // Google Benchmark divides by the iterations (kAvgIterations).
        st.counters["minflt"] = benchmark::Counter((double)(minor_faults() - faults_before),
                                                   benchmark::Counter::kAvgIterations);
        if (failed) st.SkipWithError("an iteration failed after the cell was verified");
        st.SetBytesProcessed((int64_t)((uint64_t)st.iterations() * mm.bytes_per_iter));
    })->UseRealTime()->Unit(benchmark::kNanosecond);
}

void keep_entries(CaptureReporter &rep)
{
    if (g_context.empty()) g_context = rep.context.str();
    std::string e = rep.entries.str();
    if (!e.empty()) {
        if (!g_entries.empty()) g_entries += ",\n";
        g_entries += e;
    }
}

}  // namespace

extern "C" {

int gb_run_batch(const gb_measurement *m, int64_t iterations, double min_time, double warmup_s, int keep,
                 gb_batch *out, char *err, size_t errlen)
{
    if (g_stop) return 1;
    benchmark::ClearRegisteredBenchmarks();
    benchmark::internal::Benchmark *b = register_measurement(m)->Repetitions(1);
    if (iterations > 0) {
        b->Iterations(iterations);
    } else {
        b->MinTime(min_time > 0 ? min_time : 1e-3);
        if (warmup_s > 0) b->MinWarmUpTime(warmup_s);
    }
    CaptureReporter rep;
    benchmark::RunSpecifiedBenchmarks(&rep);
    benchmark::ClearRegisteredBenchmarks();
    if (g_stop) return 1;
    std::memset(out, 0, sizeof *out);
    for (const auto &r : rep.runs) {
        std::string why;
        if (run_failed(r, &why)) return set_err(err, errlen, "Google Benchmark: %s", why.c_str());
        if (r.run_type != benchmark::BenchmarkReporter::Run::RT_Iteration) continue;
        out->iterations = r.iterations;
        out->real_ns = r.GetAdjustedRealTime();
        out->cpu_ns = r.GetAdjustedCPUTime();
        auto faults = r.counters.find("minflt");
        out->minflt_per_iter = faults == r.counters.end() ? 0 : faults->second.value;
    }
    if (out->iterations <= 0) return set_err(err, errlen, "Google Benchmark reported no run");
    if (keep) {
        if (g_context.empty()) g_context = rep.context.str();
        g_round_entries.push_back(rep.entries.str());
    }
    return 0;
}

size_t gb_json_round_batches(void) { return g_round_entries.size(); }

void gb_json_round_keep_one(size_t from, size_t keep)
{
    if (keep >= from && keep < g_round_entries.size()) g_round_entries[from] = g_round_entries[keep];
    if (from < g_round_entries.size()) g_round_entries.resize(from + 1);
}

void gb_json_round_end(int commit)
{
    for (const std::string &e : g_round_entries) {
        if (!commit || e.empty()) continue;
        if (!g_entries.empty()) g_entries += ",\n";
        g_entries += e;
    }
    g_round_entries.clear();
}

int gb_run(const gb_measurement *m, gb_result *out, char *err, size_t errlen)
{
    if (g_stop) return 1;
    benchmark::ClearRegisteredBenchmarks();
    register_measurement(m);

    CaptureReporter rep;
    benchmark::RunSpecifiedBenchmarks(&rep);
    benchmark::ClearRegisteredBenchmarks();
    if (g_stop) return 1;

    std::memset(out, 0, sizeof *out);
    int have_mean = 0, have_median = 0, have_stddev = 0, have_cv = 0;
    for (const auto &r : rep.runs) {
        std::string why;
        if (run_failed(r, &why))
            return set_err(err, errlen, "Google Benchmark: %s", why.c_str());
        if (r.run_type == benchmark::BenchmarkReporter::Run::RT_Iteration) {
            if (out->repetitions >= GB_MAX_REPETITIONS) continue;
            double t = r.GetAdjustedRealTime();
            double cpu = r.GetAdjustedCPUTime();
            if (out->repetitions == 0 || cpu < out->cpu_min_ns) out->cpu_min_ns = cpu;
            out->samples_ns[out->repetitions++] = t;
            out->iterations = r.iterations;
            continue;
        }
        if (r.aggregate_name == "mean") {
            out->mean_ns = r.GetAdjustedRealTime();
            have_mean = 1;
        } else if (r.aggregate_name == "median") {
            out->median_ns = r.GetAdjustedRealTime();
            out->cpu_median_ns = r.GetAdjustedCPUTime();
            auto it = r.counters.find("bytes_per_second");
            if (it != r.counters.end()) out->bytes_per_second = it->second.value;
            have_median = 1;
        } else if (r.aggregate_name == "stddev") {
            out->stddev_ns = r.GetAdjustedRealTime();
            have_stddev = 1;
        } else if (r.aggregate_name == "cv") {
            // A percentage-unit aggregate holds the ratio itself.
            out->cv = r.real_accumulated_time;
            have_cv = 1;
        }
    }
    if (out->repetitions < 2 || !have_mean || !have_median || !have_stddev || !have_cv)
        return set_err(err, errlen, "Google Benchmark reported %d repetitions and no aggregates",
                       out->repetitions);
    out->min_ns = out->max_ns = out->samples_ns[0];
    for (int i = 1; i < out->repetitions; i++) {
        if (out->samples_ns[i] < out->min_ns) out->min_ns = out->samples_ns[i];
        if (out->samples_ns[i] > out->max_ns) out->max_ns = out->samples_ns[i];
    }
    keep_entries(rep);
    return 0;
}

int gb_json_load(const char *path, int (*keep)(const char *name, void *arg), void *arg,
                 char *err, size_t errlen)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return set_err(err, errlen, "%s", std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    size_t open = s.find(kBenchmarksOpen);
    size_t tl = std::strlen(kTail);
    if (open == std::string::npos || s.size() < tl || s.compare(s.size() - tl, tl, kTail) != 0 ||
        s.compare(0, 1, "{") != 0)
        return set_err(err, errlen, "not a gbench.json written by casbench");
    size_t body = open + std::strlen(kBenchmarksOpen);
    g_context = s.substr(0, body);
    std::string all = body <= s.size() - tl ? s.substr(body, s.size() - tl - body) : std::string();
    // One entry per Run, as JSONReporter writes them: "    {" ... "\n    }",
    // joined by ",\n". An entry is kept when its measurement is.
    g_entries.clear();
    const std::string open_entry = "    {\n", close_entry = "\n    }", key = "\"run_name\": \"";
    const std::string suffix = "/real_time";   // added by UseRealTime()
    size_t pos = 0;
    while ((pos = all.find(open_entry, pos)) != std::string::npos) {
        size_t end = all.find(close_entry, pos);
        if (end == std::string::npos) return set_err(err, errlen, "an entry does not end");
        end += close_entry.size();
        std::string entry = all.substr(pos, end - pos);
        pos = end;
        size_t k = entry.find(key);
        if (k == std::string::npos) return set_err(err, errlen, "an entry has no run_name");
        k += key.size();
        std::string name = entry.substr(k, entry.find('"', k) - k);
        if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            name.erase(name.size() - suffix.size());
        // A round's batch carries Google Benchmark's own name parts too
        // (Iterations(n) and Repetitions(1) add /iterations:N/repeats:1).
        for (const char *part : {"/iterations:", "/repeats:", "/min_time:", "/min_warmup_time:"}) {
            size_t at = name.find(part);
            if (at != std::string::npos) name.erase(at);
        }
        if (keep && !keep(name.c_str(), arg)) continue;
        if (!g_entries.empty()) g_entries += ",\n";
        g_entries += entry;
    }
    return 0;
}

int gb_json_write(const char *path, int durable, char *err, size_t errlen)
{
    if (g_context.empty()) g_context = fresh_context();
    std::string doc = g_context + g_entries + kTail;
    return cb_write_atomic(path, doc.data(), doc.size(), durable ? CB_DURABLE : CB_VOLATILE, NULL, err, errlen);
}

const char *gb_cpu_scaling(void)
{
    switch (benchmark::CPUInfo::Get().scaling) {
    case benchmark::CPUInfo::ENABLED: return "enabled";
    case benchmark::CPUInfo::DISABLED: return "disabled";
    default: return "unknown";
    }
}

const char *gb_cxx_compiler(void)
{
#if defined(__clang__)
    return "clang++ " __clang_version__;
#elif defined(__GNUC__)
    return "g++ " __VERSION__;
#else
    return "unknown";
#endif
}

}  // extern "C"
