import { render } from "preact";
import { DeadLetterPage, DeadLettersPage } from "./deadletters";
import { ExecutionPage } from "./execution";
import { ExecutionsPage } from "./executions";
import { href, useRoute } from "./router";
import { StateMachinePage, StateMachinesPage } from "./statemachines";
import "./style.css";

function App() {
  const route = useRoute();
  const [page, id] = route.path;
  let body;
  if (page === "execution" && id) body = <ExecutionPage key={id} arn={id} />;
  else if (page === "dead-letters" && id) body = <DeadLetterPage key={id} id={id} />;
  else if (page === "dead-letters") body = <DeadLettersPage route={route} />;
  else if (page === "state-machines" && id) body = <StateMachinePage key={id} arn={id} params={route.params} />;
  else if (page === "state-machines") body = <StateMachinesPage />;
  else body = <ExecutionsPage route={route} />;
  const tab = (name: string, label: string) => (
    <a href={href([name])} class={(page ?? "executions") === name || (name === "executions" && page === "execution") ? "active" : ""}>
      {label}
    </a>
  );
  return (
    <>
      <nav class="top" aria-label="main">
        <strong>Stepflow</strong>
        {tab("executions", "Executions")}
        {tab("dead-letters", "Dead letters")}
        {tab("state-machines", "State machines")}
      </nav>
      <main>{body}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
