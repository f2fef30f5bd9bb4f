// Broker-side SASL/PLAIN callback handler for tools/broker.
//
// Kafka's stock PlainServerCallbackHandler takes users from JAAS options of the
// form user_<name>="<password>".  JAAS option names are parsed with a
// StreamTokenizer, so a user name such as "ckafka-abc123#alice" cannot be
// expressed there ('#' is not a word character).  This handler reads users from
// a plain file instead, named by the JAAS option kwire_users_file:
//
//   one user per line: <name><TAB><password>; blank lines are ignored.
//
// Configured per listener with
//   listener.name.<l>.plain.sasl.server.callback.handler.class=PlainUsersCallbackHandler
package kwire.broker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.plain.PlainAuthenticateCallback;

public class PlainUsersCallbackHandler implements AuthenticateCallbackHandler {
    private final Map<String, String> users = new HashMap<>();

    @Override
    public void configure(Map<String, ?> configs, String saslMechanism,
                          List<AppConfigurationEntry> jaasConfigEntries) {
        String file = null;
        for (AppConfigurationEntry e : jaasConfigEntries) {
            Object v = e.getOptions().get("kwire_users_file");
            if (v != null) file = v.toString();
        }
        if (file == null) throw new KafkaException("JAAS option kwire_users_file is missing");
        try {
            for (String line : Files.readAllLines(Paths.get(file), StandardCharsets.UTF_8)) {
                if (line.isEmpty()) continue;
                int tab = line.indexOf('\t');
                if (tab <= 0) throw new KafkaException("bad line in " + file + ": expected <name>TAB<password>");
                users.put(line.substring(0, tab), line.substring(tab + 1));
            }
        } catch (IOException ex) {
            throw new KafkaException("cannot read users file " + file, ex);
        }
    }

    @Override
    public void handle(Callback[] callbacks) throws IOException, UnsupportedCallbackException {
        String username = null;
        for (Callback cb : callbacks) {
            if (cb instanceof NameCallback) {
                username = ((NameCallback) cb).getDefaultName();
            } else if (cb instanceof PlainAuthenticateCallback) {
                PlainAuthenticateCallback plain = (PlainAuthenticateCallback) cb;
                String expected = username == null ? null : users.get(username);
                boolean ok = expected != null && MessageDigest.isEqual(
                        expected.getBytes(StandardCharsets.UTF_8),
                        new String(plain.password()).getBytes(StandardCharsets.UTF_8));
                plain.authenticated(ok);
            } else {
                throw new UnsupportedCallbackException(cb);
            }
        }
    }

    @Override
    public void close() {
    }
}
