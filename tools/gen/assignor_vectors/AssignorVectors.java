// AssignorVectors — prints what Kafka's own Java client does with consumer
// group assignments, for kwire to compare with (tests/integration/
// test_assignors_java.cpp runs it at test time with a fresh seed):
//
// 1. org.apache.kafka.clients.consumer.RangeAssignor and RoundRobinAssignor,
//    through ConsumerPartitionAssignor.assign(Cluster, GroupSubscription) (the
//    call the group leader makes), on pseudo-random groups: members with and
//    without group.instance.id (static membership) and racks, identical and
//    different subscriptions, topics with no partitions and subscribed topics
//    that do not exist. The cluster's brokers have no rack, so, as kwire
//    (which gets partition counts, not replica placement), Java assigns
//    without rack matching.
// 2. org.apache.kafka.clients.consumer.internals.ConsumerProtocol's bytes:
//    serializeSubscription at versions 0-3 and serializeAssignment at 0-3 of
//    fixed and pseudo-random inputs, and what serializeSubscription(s) and
//    serializeAssignment(a) write when no version is given (the version Java
//    uses in JoinGroup and SyncGroup).
//
// Run with the Java 17 source launcher and a Kafka release's classpath
// (tools/broker env exports it):
//
//   java -cp "$KWIRE_KAFKA_CLASSPATH" tools/gen/assignor_vectors/AssignorVectors.java \
//       [--seed S] [--cases N] [--codec N]
//
//   --seed S    seed of java.util.Random (default 1)
//   --cases N   random groups to assign (default 200)
//   --codec N   random subscriptions and assignments to serialize (default 50),
//               after the fixed ones
//
// Output (UTF-8), '#' lines are comments; names never contain spaces or
// commas; '-' stands for none / null / empty:
//
//   default_versions <subscription version> <assignment version>
//   case <n>
//   topic <name> <partition count>                one per topic in the cluster
//   member <id> <group.instance.id> <rack> <topics, comma-separated>
//   range <member id> <topic:partition,...>       Java's RangeAssignor
//   roundrobin <member id> <topic:partition,...>  Java's RoundRobinAssignor
//   end
//   subscription <version> <hex> <topics> <owned topic:partition,...> <generation> <rack> <user data hex>
//   assignment <version> <hex> <topic:partition,...> <user data hex>
//
// Subscription and assignment fields are the inputs as given to Java
// (unsorted); <hex> is what Java wrote, version prefix included.

import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Assignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupAssignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupSubscription;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

public class AssignorVectors {
    // Topic names (Kafka allows [a-zA-Z0-9._-]); "zz-missing" and "no-such"
    // are subscribed to at times but never exist.
    static final String[] TOPICS = {"t0", "t1", "t2", "orders", "a.b_c-d", "T9", "events", "x"};
    static final String[] MISSING = {"zz-missing", "no-such"};
    // Member and instance id prefixes, some outside ASCII: Java orders them by
    // UTF-16 code units, so U+1D11E (a surrogate pair) sorts before U+FF71.
    static final String[] PREFIXES = {"consumer", "c", "app-1", "Zeta", "é", "日本", "\uFF71", "\uD834\uDD1E", "a"};
    static final String[] RACKS = {"rack-a", "rack-b", "us-east-1c"};

    public static void main(String[] args) {
        long seed = 1;
        int cases = 200;
        int codec = 50;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seed" -> seed = Long.parseLong(value(args, ++i));
                case "--cases" -> cases = Integer.parseInt(value(args, ++i));
                case "--codec" -> codec = Integer.parseInt(value(args, ++i));
                default -> usage("unknown argument " + args[i]);
            }
        }
        if (cases < 0 || codec < 0) usage("counts must be >= 0");

        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        out.println("# " + jarName(RangeAssignor.class) + ": RangeAssignor, RoundRobinAssignor, ConsumerProtocol");
        out.println("# generated by tools/gen/assignor_vectors/AssignorVectors.java --seed " + seed +
                    " --cases " + cases + " --codec " + codec);

        Subscription probe = new Subscription(List.of("t"));
        short subscriptionVersion = ConsumerProtocol.deserializeVersion(ConsumerProtocol.serializeSubscription(probe));
        short assignmentVersion = ConsumerProtocol.deserializeVersion(
            ConsumerProtocol.serializeAssignment(new Assignment(List.of(new TopicPartition("t", 0)))));
        out.println("default_versions " + subscriptionVersion + " " + assignmentVersion);

        Random rng = new Random(seed);
        for (int n = 0; n < cases; n++) assignmentCase(out, rng, n);

        fixedCodecVectors(out);
        for (int n = 0; n < codec; n++) {
            randomSubscription(out, rng);
            randomAssignment(out, rng);
        }
        out.flush();
        if (out.checkError()) System.exit(1);
    }

    // -- assignors --------------------------------------------------------------

    static void assignmentCase(PrintStream out, Random rng, int n) {
        // Topics in the cluster, some with no partitions.
        Map<String, Integer> partitions = new LinkedHashMap<>();
        List<String> pool = new ArrayList<>(List.of(TOPICS));
        Collections.shuffle(pool, rng);
        int topicCount = 1 + rng.nextInt(5);
        for (int i = 0; i < topicCount; i++) {
            int count = rng.nextInt(8) == 0 ? 0 : 1 + rng.nextInt(rng.nextBoolean() ? 4 : 16);
            partitions.put(pool.get(i), count);
        }
        List<String> subscribable = new ArrayList<>(partitions.keySet());
        if (rng.nextInt(4) == 0) subscribable.add(MISSING[rng.nextInt(MISSING.length)]);

        // Members: often all on the same topics, else each its own subset.
        int memberCount = 1 + rng.nextInt(rng.nextInt(4) == 0 ? 12 : 6);
        boolean sameTopics = rng.nextBoolean();
        List<String> common = randomSubset(rng, subscribable, true);
        Map<String, Subscription> subscriptions = new LinkedHashMap<>();
        Set<String> instanceIds = new HashSet<>();
        boolean anyStatic = rng.nextInt(3) == 0;
        while (subscriptions.size() < memberCount) {
            String id = randomId(rng);
            if (subscriptions.containsKey(id)) continue;
            List<String> topics = sameTopics ? new ArrayList<>(common)
                                             : randomSubset(rng, subscribable, rng.nextInt(10) != 0);
            Collections.shuffle(topics, rng);
            Optional<String> rack = rng.nextInt(3) == 0 ? Optional.of(RACKS[rng.nextInt(RACKS.length)])
                                                        : Optional.empty();
            Subscription s = new Subscription(topics, null, List.of(), -1, rack);
            if (anyStatic && rng.nextBoolean()) {
                String instance;
                do instance = randomId(rng); while (!instanceIds.add(instance));
                s.setGroupInstanceId(Optional.of(instance));
            }
            subscriptions.put(id, s);
        }

        Node node = new Node(0, "localhost", 9092);
        List<PartitionInfo> infos = new ArrayList<>();
        partitions.forEach((topic, count) -> {
            for (int p = 0; p < count; p++)
                infos.add(new PartitionInfo(topic, p, node, new Node[] {node}, new Node[] {node}));
        });
        Cluster cluster = new Cluster("kwire-vectors", List.of(node), infos, Set.of(), Set.of());
        GroupSubscription group = new GroupSubscription(subscriptions);
        GroupAssignment range = new RangeAssignor().assign(cluster, group);
        GroupAssignment roundRobin = new RoundRobinAssignor().assign(cluster, group);

        out.println("case " + n);
        partitions.forEach((topic, count) -> out.println("topic " + topic + " " + count));
        subscriptions.forEach((id, s) -> out.println("member " + id + " " + s.groupInstanceId().orElse("-") + " " +
                                                    s.rackId().orElse("-") + " " + list(s.topics())));
        for (String id : subscriptions.keySet())
            out.println("range " + id + " " + partitions(range.groupAssignment().get(id).partitions()));
        for (String id : subscriptions.keySet())
            out.println("roundrobin " + id + " " + partitions(roundRobin.groupAssignment().get(id).partitions()));
        out.println("end");
    }

    static List<String> randomSubset(Random rng, List<String> from, boolean nonEmpty) {
        List<String> out = new ArrayList<>();
        for (String t : from)
            if (rng.nextBoolean()) out.add(t);
        if (out.isEmpty() && nonEmpty && !from.isEmpty()) out.add(from.get(rng.nextInt(from.size())));
        return out;
    }

    static String randomId(Random rng) {
        String prefix = PREFIXES[rng.nextInt(PREFIXES.length)];
        if (rng.nextInt(4) == 0) return prefix + "-" + rng.nextInt(20);
        return prefix + "-" + rng.nextInt(20) + "-" + Long.toHexString(rng.nextLong() & 0xffffffffL);
    }

    // -- ConsumerProtocol -----------------------------------------------------------

    static void fixedCodecVectors(PrintStream out) {
        List<TopicPartition> owned = List.of(tp("t1", 3), tp("t0", 2), tp("t1", 0), tp("t0", 0));
        subscription(out, new Subscription(List.of("t1", "t0")));
        subscription(out, new Subscription(List.of()));
        subscription(out, new Subscription(List.of("orders"), ByteBuffer.wrap(new byte[] {0, 0, 0, 7})));
        subscription(out, new Subscription(List.of("t1", "t0", "orders"), null, owned));
        subscription(out, new Subscription(List.of("t1", "t0"), null, owned, 12, Optional.empty()));
        subscription(out, new Subscription(List.of("t1", "t0"), ByteBuffer.wrap(new byte[] {1, 2}), owned, 3,
                                           Optional.of("rack-a")));
        assignment(out, new Assignment(List.of()));
        assignment(out, new Assignment(List.of(tp("t0", 0))));
        assignment(out, new Assignment(List.of(tp("t1", 2), tp("t0", 1), tp("t1", 0), tp("t0", 0))));
        assignment(out, new Assignment(List.of(tp("t0", 1)), ByteBuffer.wrap(new byte[] {(byte) 0xff, 0})));
    }

    static void randomSubscription(PrintStream out, Random rng) {
        List<String> topics = randomSubset(rng, List.of(TOPICS), false);
        Collections.shuffle(topics, rng);
        List<TopicPartition> owned = randomPartitions(rng);
        ByteBuffer userData = rng.nextInt(3) == 0 ? ByteBuffer.wrap(randomBytes(rng)) : null;
        int generation = rng.nextInt(3) == 0 ? -1 : rng.nextInt(1000);
        Optional<String> rack = rng.nextBoolean() ? Optional.of(RACKS[rng.nextInt(RACKS.length)]) : Optional.empty();
        subscription(out, new Subscription(topics, userData, owned, generation, rack));
    }

    static void randomAssignment(PrintStream out, Random rng) {
        ByteBuffer userData = rng.nextInt(3) == 0 ? ByteBuffer.wrap(randomBytes(rng)) : null;
        assignment(out, new Assignment(randomPartitions(rng), userData));
    }

    // Distinct partitions of a few topics, in random order.
    static List<TopicPartition> randomPartitions(Random rng) {
        Set<TopicPartition> set = new HashSet<>();
        int n = rng.nextInt(12);
        for (int i = 0; i < n; i++) set.add(tp(TOPICS[rng.nextInt(4)], rng.nextInt(10)));
        List<TopicPartition> out = new ArrayList<>(set);
        Collections.shuffle(out, rng);
        return out;
    }

    static byte[] randomBytes(Random rng) {
        byte[] b = new byte[1 + rng.nextInt(8)];
        rng.nextBytes(b);
        return b;
    }

    static void subscription(PrintStream out, Subscription s) {
        for (short v = 0; v <= 3; v++) {
            out.println("subscription " + v + " " + hex(ConsumerProtocol.serializeSubscription(s, v)) + " " +
                        list(s.topics()) + " " + partitions(s.ownedPartitions()) + " " +
                        s.generationId().orElse(-1) + " " + s.rackId().orElse("-") + " " + hex(s.userData()));
        }
    }

    static void assignment(PrintStream out, Assignment a) {
        for (short v = 0; v <= 3; v++) {
            out.println("assignment " + v + " " + hex(ConsumerProtocol.serializeAssignment(a, v)) + " " +
                        partitions(a.partitions()) + " " + hex(a.userData()));
        }
    }

    // -- formatting -------------------------------------------------------------------

    static TopicPartition tp(String topic, int partition) { return new TopicPartition(topic, partition); }

    static String list(List<String> items) { return items.isEmpty() ? "-" : String.join(",", items); }

    static String partitions(List<TopicPartition> tps) {
        if (tps.isEmpty()) return "-";
        StringBuilder sb = new StringBuilder();
        for (TopicPartition tp : tps) {
            if (sb.length() > 0) sb.append(',');
            sb.append(tp.topic()).append(':').append(tp.partition());
        }
        return sb.toString();
    }

    static String hex(ByteBuffer buffer) {
        if (buffer == null || !buffer.hasRemaining()) return "-";
        ByteBuffer b = buffer.duplicate();
        StringBuilder sb = new StringBuilder(b.remaining() * 2);
        while (b.hasRemaining()) {
            int v = b.get() & 0xff;
            sb.append(Character.forDigit(v >> 4, 16)).append(Character.forDigit(v & 0xf, 16));
        }
        return sb.toString();
    }

    // The jar a class was loaded from (its name carries the Kafka version).
    static String jarName(Class<?> c) {
        var source = c.getProtectionDomain().getCodeSource();
        if (source == null) return "unknown jar";
        String path = source.getLocation().getPath();
        return path.substring(path.lastIndexOf('/') + 1);
    }

    static String value(String[] args, int i) {
        if (i >= args.length) usage(args[i - 1] + " needs a value");
        return args[i];
    }

    static void usage(String problem) {
        System.err.println("AssignorVectors: " + problem);
        System.err.println("usage: java -cp CLASSPATH AssignorVectors.java [--seed S] [--cases N] [--codec N]");
        System.exit(2);
    }
}
